/**
 * Test-only client for the emulator: its own small ACS3-HMAC-SHA256 signer (written
 * from the protocol description, independently of the emulator's verifier), plus
 * helpers for the unsigned admin API. Also used by bench/emulator-load.ts.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';

const VERSION_BY_ACTION: Readonly<Record<string, string>> = {
  ListImage: '2021-09-01',
  DeleteImage: '2021-09-01',
  ListAppInstanceGroup: '2021-09-01',
  ListWuyingServer: '2021-09-01',
  DescribeDesktopGroups: '2020-09-30',
  DescribeTemplates: '2020-09-30',
  DeleteTemplates: '2020-09-30',
  CreateTemplate: '2020-09-30',
};

export interface SignOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  /** Query-string params (signed as part of the canonical query). */
  query?: Record<string, string>;
  version?: string;
  /** Overrides x-acs-content-sha256 after signing the real hash (to test refusal). */
  declaredContentHash?: string;
  /** Skip the Authorization header entirely. */
  unsigned?: boolean;
  /** Headers neither sent nor signed (e.g. `x-acs-date`). */
  omitHeaders?: readonly string[];
  /** Headers sent but left out of SignedHeaders. */
  unsignedHeaders?: readonly string[];
  /** x-acs-date to send (default: now). */
  date?: string;
  /** x-acs-signature-nonce to send (default: a random UUID). */
  nonce?: string;
}

export interface ApiAnswer {
  status: number;
  text: string;
  headers: Headers;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: Record<string, unknown> | undefined;
}

function rfc3986(text: string): string {
  // encodeURIComponent leaves !'()* alone; RFC 3986 wants them encoded.
  let out = '';
  for (const char of encodeURIComponent(text)) {
    out += "!'()*".includes(char) ? '%' + char.charCodeAt(0).toString(16).toUpperCase() : char;
  }
  return out;
}

function hex(algorithm: 'sha256', data: string): string {
  return createHash(algorithm).update(data, 'utf8').digest('hex');
}

export function formEncode(params: Readonly<Record<string, string>>): string {
  return Object.entries(params)
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .join('&');
}

/** Builds the signed headers for one POST / call to `endpoint` (host:port). */
export function signCall(
  endpoint: string,
  action: string,
  body: string,
  options: SignOptions = {},
): { headers: Record<string, string>; queryString: string } {
  const accessKeyId = options.accessKeyId ?? EMULATOR_DEFAULTS.accessKeyId;
  const secret = options.accessKeySecret ?? EMULATOR_DEFAULTS.accessKeySecret;
  const query = options.query ?? {};
  const payloadHash = hex('sha256', body);
  const headers: Record<string, string> = {
    host: endpoint,
    'content-type': 'application/x-www-form-urlencoded',
    'x-acs-action': action,
    'x-acs-version': options.version ?? VERSION_BY_ACTION[action] ?? '2021-09-01',
    'x-acs-date': options.date ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'x-acs-signature-nonce': options.nonce ?? randomUUID(),
    'x-acs-content-sha256': payloadHash,
  };
  for (const name of options.omitHeaders ?? []) delete headers[name];
  const names = Object.keys(headers)
    .filter((name) => !(options.unsignedHeaders ?? []).includes(name))
    .sort();
  const canonicalHeaders = names.map((name) => `${name}:${(headers[name] ?? '').trim()}\n`).join('');
  const sortedQueryKeys = Object.keys(query).sort();
  const canonicalQueryString = sortedQueryKeys.map((key) => `${key}=${rfc3986(query[key] ?? '')}`).join('&');
  const lines = ['POST', '/', canonicalQueryString, canonicalHeaders, names.join(';'), payloadHash];
  const stringToSign = `ACS3-HMAC-SHA256\n${hex('sha256', lines.join('\n'))}`;
  const signature = createHmac('sha256', secret).update(stringToSign).digest('hex');
  if (!options.unsigned) {
    headers['authorization'] = `ACS3-HMAC-SHA256 Credential=${accessKeyId},SignedHeaders=${names.join(';')},Signature=${signature}`;
  }
  if (options.declaredContentHash !== undefined) headers['x-acs-content-sha256'] = options.declaredContentHash;
  const queryString = sortedQueryKeys.map((key) => `${rfc3986(key)}=${rfc3986(query[key] ?? '')}`).join('&');
  return { headers, queryString };
}

/** One signed API call (POST /, form body). */
export async function callApi(
  baseUrl: string,
  action: string,
  params: Readonly<Record<string, string>> = {},
  options: SignOptions = {},
): Promise<ApiAnswer> {
  const endpoint = new URL(baseUrl).host;
  const body = formEncode(params);
  const { headers, queryString } = signCall(endpoint, action, body, options);
  const { host: _host, ...sendHeaders } = headers;
  const response = await fetch(`${baseUrl}/${queryString ? `?${queryString}` : ''}`, {
    method: 'POST',
    headers: sendHeaders,
    body,
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    json = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, text, headers: response.headers, json };
}

/** One admin API call; resolves to status and parsed JSON. */
export async function admin(
  baseUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${baseUrl}/_emulator/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}
