/**
 * The gRPC status codes imgdel tells apart in the Temporal server's answers, and one reading of an
 * error's status for the client and the worker alike. Numbers from the gRPC spec (they never change).
 */
import { isGrpcServiceError, ServiceError } from '@temporalio/client';

export const GrpcStatus = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * The statuses that mean the server failed or is over its limits, not that the request was wrong:
 * nothing the caller can correct in what it asked, only wait or tell the server's operator.
 */
const SERVER_FAILURES = ['UNKNOWN', 'RESOURCE_EXHAUSTED', 'UNIMPLEMENTED', 'INTERNAL', 'DATA_LOSS'] as const;
export type ServerFailureStatus = (typeof SERVER_FAILURES)[number];

/** The gRPC error itself, also when the SDK wrapped it (ServiceError('Failed to …', { cause })). */
function grpcErrorOf(error: unknown) {
  if (isGrpcServiceError(error)) return error;
  if (error instanceof ServiceError && isGrpcServiceError(error.cause)) return error.cause;
  return undefined;
}

/** The gRPC status of a server error, also when the SDK wrapped it. */
export function grpcCode(error: unknown): number | undefined {
  return grpcErrorOf(error)?.code;
}

/** The server refused the caller: credentials it does not accept, or not allowed to use the namespace. */
export function isRefusal(error: unknown): boolean {
  const code = grpcCode(error);
  return code === GrpcStatus.PERMISSION_DENIED || code === GrpcStatus.UNAUTHENTICATED;
}

/** The server's own words for a gRPC error (its `details`, without the "7 PERMISSION_DENIED:" prefix), else the message. */
export function serverReason(error: unknown): string {
  const details = grpcErrorOf(error)?.details.trim();
  if (details) return details.replace(/\.$/, '');
  return error instanceof Error ? error.message : String(error);
}

/** The status name when the server failed or is over its limits (SERVER_FAILURES), else undefined. */
export function serverFailureStatus(error: unknown): ServerFailureStatus | undefined {
  const code = grpcCode(error);
  return SERVER_FAILURES.find((name) => GrpcStatus[name] === code);
}
