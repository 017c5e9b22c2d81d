/**
 * The `code` of a Node system error ('ENOENT', 'EADDRINUSE', …), or undefined for anything else.
 * One reading for every caller: a thrown value is `unknown`, and a cast would hide a non-error throw.
 */
export function nodeErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
