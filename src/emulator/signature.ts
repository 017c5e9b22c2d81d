/**
 * Request signature verification, as the official runtime (@alicloud/openapi-core)
 * signs: ACS3-HMAC-SHA256 in the Authorization header, and the older HMAC-SHA1
 * query signature (`Signature` + `SignatureMethod=HMAC-SHA1`).
 *
 * ACS3 canonical request, one item a line:
 *   METHOD
 *   path (as sent)
 *   query: keys sorted, `key=percentEncode(value)` joined by `&` (keys are not encoded)
 *   canonical headers: every signed header `name:trimmed value\n`, names lower case, sorted
 *   (empty line, because the headers block ends with its own newline)
 *   signed header names joined by `;`
 *   hex SHA-256 of the body (the x-acs-content-sha256 header)
 * string to sign = `ACS3-HMAC-SHA256\n` + hex(SHA-256(canonical request)),
 * signature = hex(HMAC-SHA256(secret, string to sign)).
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from './api-errors.js';
import type { FlatParams } from './params.js';

export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

/** How far a request's date may be from the emulator's clock, either way (the cloud allows 15 minutes). */
export const DATE_WINDOW_MS = 15 * 60 * 1000;

/**
 * Headers the official signer always sends and signs; the cloud refuses a request that lacks
 * any of them or leaves one out of SignedHeaders. (x-acs-version is the server's to check:
 * a missing version is MissingVersion, as for the old signers' Version parameter.)
 */
const REQUIRED_SIGNED_HEADERS = ['host', 'x-acs-action', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256'] as const;

/**
 * Signature nonces seen within DATE_WINDOW_MS (older requests fail the date check anyway), at
 * most `capacity` of them: a replayed request is refused. Insertion order is time order, so
 * expiry only ever looks at the oldest entries.
 */
export class RecentNonces {
  private readonly seen = new Map<string, number>();

  constructor(private readonly capacity = 100_000) {}

  /** Records the nonce; false when it was already used within the window. */
  claim(nonce: string, nowMs: number): boolean {
    for (const [oldest, seenAt] of this.seen) {
      if (nowMs - seenAt <= DATE_WINDOW_MS && this.seen.size < this.capacity) break;
      this.seen.delete(oldest);
    }
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, nowMs);
    return true;
  }
}

/** What makes a signed request fresh: its date near the clock, its nonce not used before. */
export interface Freshness {
  nowMs: number;
  nonces: RecentNonces;
}

function checkFreshness(date: string, nonce: string, freshness: Freshness): void {
  const dateMs = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(date) ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(dateMs)) {
    throw new ApiError('InvalidTimeStamp.Format', `The request date ${JSON.stringify(date)} is not yyyy-MM-ddTHH:mm:ssZ (UTC).`);
  }
  if (Math.abs(freshness.nowMs - dateMs) > DATE_WINDOW_MS) {
    throw new ApiError('InvalidTimeStamp.Expired', `The request date ${date} is more than 15 minutes from the server's clock.`);
  }
  if (!freshness.nonces.claim(nonce, freshness.nowMs)) throw new ApiError('SignatureNonceUsed');
}

export interface KeyPair {
  accessKeyId: string;
  accessKeySecret: string;
}

export interface SignedRequest {
  method: string;
  /** The path part of the request target, before `?`, as received. */
  path: string;
  query: FlatParams;
  /** The form body's params (used by the HMAC-SHA1 signature only). */
  bodyParams: FlatParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** RFC 3986 percent-encoding (encodeURIComponent plus !'()*), as the runtime encodes query values. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function sha256Hex(data: Buffer | string): string {
  // One-shot: no Hash object per call (every request hashes its body and its canonical request).
  return hash('sha256', data, 'hex');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.map((item) => item.trim()).sort().join(',') : value.trim();
}

export function canonicalQuery(query: FlatParams): string {
  return Object.keys(query)
    .sort()
    .map((key) => `${key}=${percentEncode(query[key] ?? '')}`)
    .join('&');
}

/** The ACS3 canonical request for the given signed headers (lower-case names). */
export function canonicalRequest(request: SignedRequest, signedHeaders: readonly string[], payloadHash: string): string {
  const sortedNames = [...signedHeaders].sort();
  const headerBlock = sortedNames.map((name) => `${name}:${headerValue(request.headers, name) ?? ''}\n`).join('');
  return [
    request.method,
    request.path,
    canonicalQuery(request.query),
    headerBlock,
    sortedNames.join(';'),
    payloadHash,
  ].join('\n');
}

export function acs3Signature(secret: string, canonical: string): string {
  const stringToSign = `${ACS3_ALGORITHM}\n${sha256Hex(canonical)}`;
  return createHmac('sha256', secret).update(stringToSign).digest('hex');
}

interface Acs3Authorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): Acs3Authorization {
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ACS3_ALGORITHM) {
    throw new ApiError('SignatureDoesNotMatch', `Unsupported signature algorithm ${algorithm || '(none)'}.`);
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const equals = part.indexOf('=');
    if (equals > 0) fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) {
    throw new ApiError('IncompleteSignature', 'The Authorization header needs Credential, SignedHeaders and Signature.');
  }
  return { accessKeyId, signedHeaders: signedHeaders.split(';').map((name) => name.trim().toLowerCase()), signature };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function verifyAcs3(request: SignedRequest, authorization: string, keys: KeyPair, freshness: Freshness): string {
  const parsed = parseAuthorization(authorization);
  if (parsed.accessKeyId !== keys.accessKeyId) throw new ApiError('InvalidAccessKeyId.NotFound');

  const declaredHash = headerValue(request.headers, 'x-acs-content-sha256');
  if (declaredHash === undefined) {
    throw new ApiError('IncompleteSignature', 'The x-acs-content-sha256 header is missing.');
  }
  if (declaredHash.toLowerCase() !== sha256Hex(request.body)) {
    throw new ApiError('SignatureDoesNotMatch', 'x-acs-content-sha256 does not match the request body.');
  }
  // Like the cloud: the headers the official signer sends must be there and signed, and so
  // must every other x-acs-* header sent.
  const signed = new Set(parsed.signedHeaders);
  for (const name of REQUIRED_SIGNED_HEADERS) {
    if (request.headers[name] === undefined) throw new ApiError('IncompleteSignature', `The ${name} header is missing.`);
  }
  for (const name of Object.keys(request.headers)) {
    if ((name === 'host' || name.startsWith('x-acs-')) && !signed.has(name)) {
      throw new ApiError('SignatureDoesNotMatch', `Header ${name} must be signed.`);
    }
  }
  for (const name of signed) {
    if (request.headers[name] === undefined) {
      throw new ApiError('SignatureDoesNotMatch', `Signed header ${name} is missing from the request.`);
    }
  }
  const expected = acs3Signature(keys.accessKeySecret, canonicalRequest(request, parsed.signedHeaders, declaredHash));
  if (!sameText(expected, parsed.signature.toLowerCase())) throw new ApiError('SignatureDoesNotMatch');
  // Only a request signed by the key holder uses up its nonce.
  checkFreshness(headerValue(request.headers, 'x-acs-date') ?? '', headerValue(request.headers, 'x-acs-signature-nonce') ?? '', freshness);
  return parsed.accessKeyId;
}

/** The HMAC-SHA1 RPC signature of the older signers, over query and body params together. */
export function hmacSha1Signature(method: string, params: FlatParams, secret: string): string {
  const canonical = Object.keys(params)
    .filter((key) => key !== 'Signature')
    .sort()
    .map((key) => `${percentEncode(key)}=${percentEncode(params[key] ?? '')}`)
    .join('&');
  const stringToSign = `${method}&${percentEncode('/')}&${percentEncode(canonical)}`;
  return createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
}

function verifyHmacSha1(request: SignedRequest, keys: KeyPair, freshness: Freshness): string {
  const params = { ...request.query, ...request.bodyParams };
  const accessKeyId = params['AccessKeyId'];
  const signature = params['Signature'];
  const timestamp = params['Timestamp'];
  const nonce = params['SignatureNonce'];
  if (!accessKeyId || !signature || !timestamp || !nonce) {
    throw new ApiError('IncompleteSignature', 'The request needs AccessKeyId, Signature, Timestamp and SignatureNonce.');
  }
  if (params['SignatureMethod'] !== 'HMAC-SHA1') {
    throw new ApiError('SignatureDoesNotMatch', `Unsupported SignatureMethod ${params['SignatureMethod'] ?? '(none)'}.`);
  }
  if (accessKeyId !== keys.accessKeyId) throw new ApiError('InvalidAccessKeyId.NotFound');
  if (!sameText(hmacSha1Signature(request.method, params, keys.accessKeySecret), signature)) {
    throw new ApiError('SignatureDoesNotMatch');
  }
  checkFreshness(timestamp, nonce, freshness);
  return accessKeyId;
}

export type SignatureScheme = 'ACS3-HMAC-SHA256' | 'HMAC-SHA1';

/**
 * Verifies the request's signature and freshness; returns the scheme it was signed with, or
 * throws the cloud's error. The scheme tells what the signature covers: HMAC-SHA1 signs the
 * parameters only, never a header.
 */
export function verifySignature(request: SignedRequest, keys: KeyPair, freshness: Freshness): SignatureScheme {
  const authorization = headerValue(request.headers, 'authorization');
  if (authorization !== undefined && authorization !== '') {
    verifyAcs3(request, authorization, keys, freshness);
    return 'ACS3-HMAC-SHA256';
  }
  if (request.query['Signature'] !== undefined) {
    verifyHmacSha1(request, keys, freshness);
    return 'HMAC-SHA1';
  }
  throw new ApiError('IncompleteSignature', 'The request is not signed: the Authorization header is missing.');
}
