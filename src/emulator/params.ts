/**
 * RPC parameters as they arrive on the wire: flat `key=value` pairs from the query
 * string and the form body, with lists and objects flattened
 * (`TemplateIds.1=a`, `DataDiskList.1.Size=40`).
 */
import { ApiError } from './api-errors.js';

export type FlatParams = Record<string, string>;

/** Parameters that carry signature or credential material: never logged, never stored. */
export const CREDENTIAL_PARAMS: ReadonlySet<string> = new Set([
  'Signature',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'SignatureType',
  'AccessKeyId',
  'SecurityToken',
  'BearerToken',
]);

/** Common RPC parameters of the old (HMAC-SHA1) signers: routing and envelope, not operation input. */
export const COMMON_PARAMS: ReadonlySet<string> = new Set(['Action', 'Version', 'Format', 'Timestamp']);

/** Parses `a=1&b=2` (form body or query string); a repeated key keeps its last value. */
export function parseUrlEncoded(text: string): FlatParams {
  const result: FlatParams = {};
  if (text === '') return result;
  for (const [key, value] of new URLSearchParams(text)) result[key] = value;
  return result;
}

/** The params safe to show in the calls log: everything but signature and credential material. */
export function loggableParams(params: FlatParams): FlatParams {
  const result: FlatParams = {};
  for (const [key, value] of Object.entries(params)) {
    if (!CREDENTIAL_PARAMS.has(key) && !COMMON_PARAMS.has(key)) result[key] = value;
  }
  return result;
}

export function optionalString(params: FlatParams, name: string): string | undefined {
  const value = params[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * A flattened list `Name.1`, `Name.2`, … in index order. Also accepts `Name` alone,
 * either one value or a JSON array of strings (the "shrink" style some SDKs use).
 */
export function listParam(params: FlatParams, name: string): string[] {
  const prefix = `${name}.`;
  const indexed: Array<[number, string]> = [];
  for (const [key, value] of Object.entries(params)) {
    if (!key.startsWith(prefix)) continue;
    const index = Number(key.slice(prefix.length));
    if (Number.isInteger(index) && index >= 1 && value !== '') indexed.push([index, value]);
  }
  if (indexed.length > 0) return indexed.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
  const single = optionalString(params, name);
  if (single === undefined) return [];
  if (single.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(single);
      if (Array.isArray(parsed)) return parsed.filter((item): item is string => typeof item === 'string');
    } catch {
      // not JSON: a single value that happens to start with '['
    }
  }
  return [single];
}

/** An integer parameter within [min, max]; `InvalidParameter.<name>` otherwise. */
export function intParam(params: FlatParams, name: string, fallback: number, min: number, max: number): number {
  const raw = optionalString(params, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ApiError(`InvalidParameter.${name}`, `${name} must be an integer from ${min} to ${max}.`);
  }
  return value;
}

export interface Page<T> {
  items: T[];
  pageNumber: number;
  pageSize: number;
  total: number;
}

/**
 * PageNumber/PageSize paging: PageSize 1..100 (default 10), PageNumber from 1. With
 * `maxPageSize`, pages hold at most that many items while the answer still reports the
 * PageSize asked for: a service that caps page size quietly (clients must page by the total).
 */
export function paginate<T>(items: readonly T[], params: FlatParams, maxPageSize?: number): Page<T> {
  const pageNumber = intParam(params, 'PageNumber', 1, 1, Number.MAX_SAFE_INTEGER);
  const pageSize = intParam(params, 'PageSize', 10, 1, 100);
  const servedSize = maxPageSize === undefined ? pageSize : Math.min(pageSize, maxPageSize);
  const start = (pageNumber - 1) * servedSize;
  return { items: items.slice(start, start + servedSize), pageNumber, pageSize, total: items.length };
}

/**
 * Template fields that are numbers or booleans on the wire. Un-flattening turns
 * these (and only these) back into numbers/booleans when their text is canonical;
 * every other value stays the string it arrived as. Keep this list in one place.
 */
const NUMERIC_FIELDS: ReadonlySet<string> = new Set(['SystemDiskSize', 'Size', 'Period', 'UserDuration']);
const BOOLEAN_FIELDS: ReadonlySet<string> = new Set(['AutoPay', 'AutoRenew', 'PostPaidAfterUsedUp']);

function typedLeaf(key: string, value: string): string | number | boolean {
  if (NUMERIC_FIELDS.has(key) && /^-?(0|[1-9]\d*)$/.test(value) && Number.isSafeInteger(Number(value))) {
    return Number(value);
  }
  if (BOOLEAN_FIELDS.has(key) && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/** Keys that would reach object prototypes instead of creating fields. */
const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

interface Tree {
  [key: string]: Tree | string;
}

/**
 * Turns flattened params back into objects: `DataDiskList.1.Size=40` becomes
 * `{ DataDiskList: [{ Size: 40 }] }`. A level whose keys are all positive integers
 * is a list (ordered by index, gaps closed); see NUMERIC_FIELDS for value types.
 */
export function unflatten(params: FlatParams): Record<string, unknown> {
  const root: Tree = {};
  for (const [key, value] of Object.entries(params)) {
    const segments = key.split('.');
    if (segments.some((segment) => UNSAFE_KEYS.has(segment))) continue;
    let node: Tree = root;
    segments.forEach((segment, position) => {
      if (position === segments.length - 1) {
        if (typeof node[segment] !== 'object') node[segment] = value;
        return;
      }
      const child = node[segment];
      if (typeof child === 'object') {
        node = child;
      } else {
        const created: Tree = {};
        node[segment] = created;
        node = created;
      }
    });
  }
  const converted = convertTree(root, '');
  return typeof converted === 'object' && converted !== null && !Array.isArray(converted)
    ? (converted as Record<string, unknown>)
    : {};
}

function convertTree(node: Tree | string, key: string): unknown {
  if (typeof node === 'string') return typedLeaf(key, node);
  const keys = Object.keys(node);
  const isList = keys.length > 0 && keys.every((k) => /^[1-9]\d*$/.test(k));
  if (isList) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((index) => {
        const child = node[String(index)];
        return child === undefined ? undefined : convertTree(child, key);
      });
  }
  const result: Record<string, unknown> = {};
  for (const childKey of keys) {
    const child = node[childKey];
    if (child !== undefined) result[childKey] = convertTree(child, childKey);
  }
  return result;
}
