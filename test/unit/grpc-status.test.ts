import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { GrpcStatus, grpcCode, isRefusal, serverFailureStatus, serverReason } from '../../src/grpc-status.js';
import { grpcError } from '../helpers/grpc-error.js';

describe('grpc-status', () => {
  it('reads the status of a server error, also when the SDK wrapped it', () => {
    expect(grpcCode(grpcError(7, 'Request unauthorized.'))).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(grpcCode(new ServiceError('Failed to start Workflow', { cause: grpcError(16, 'bad token') }))).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(grpcCode(new Error('7 PERMISSION_DENIED'))).toBeUndefined();
    expect(grpcCode('boom')).toBeUndefined();
  });

  it('a refusal is PERMISSION_DENIED or UNAUTHENTICATED, nothing else', () => {
    expect(isRefusal(grpcError(7, 'Request unauthorized.'))).toBe(true);
    expect(isRefusal(new ServiceError('Failed to query Workflow', { cause: grpcError(16, 'bad token') }))).toBe(true);
    expect(isRefusal(grpcError(14, 'connection reset'))).toBe(false);
    expect(isRefusal(grpcError(5, 'not found'))).toBe(false);
  });

  it("gives the server's own words, without the trailing full stop, else the message", () => {
    expect(serverReason(grpcError(7, 'Request unauthorized.'))).toBe('Request unauthorized');
    expect(serverReason(new ServiceError('Failed to start Workflow', { cause: grpcError(16, ' invalid API key ') }))).toBe('invalid API key');
    expect(serverReason(grpcError(7, ''))).toBe('7 ');
    expect(serverReason(new Error('plain'))).toBe('plain');
  });

  it("names the server's own failures, and only those", () => {
    expect(serverFailureStatus(grpcError(8, 'namespace rate limit exceeded'))).toBe('RESOURCE_EXHAUSTED');
    expect(serverFailureStatus(new ServiceError('Failed to start Workflow', { cause: grpcError(13, 'shard closed') }))).toBe('INTERNAL');
    expect(serverFailureStatus(grpcError(2, 'panic'))).toBe('UNKNOWN');
    // Statuses the client answers otherwise (unreachable, refused, not found, bad request) are not server failures.
    for (const code of [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.PERMISSION_DENIED, GrpcStatus.NOT_FOUND, 3]) {
      expect(serverFailureStatus(grpcError(code, 'x')), String(code)).toBeUndefined();
    }
    expect(serverFailureStatus(new Error('13 INTERNAL'))).toBeUndefined();
  });
});
