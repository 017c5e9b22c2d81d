import { Metadata } from '@grpc/grpc-js';

/** A gRPC failure as the client's transport reports one (no status details). */
export function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: new Metadata() });
}
