/**
 * The worker's logger: one JSON object per line (time, level, message, then meta such as
 * workflowId, activityType, imageId), or a readable line for people (IMGDEL_LOG_FORMAT=pretty).
 * It is the Temporal Runtime's logger too, so SDK, workflow and activity logs come out the same way.
 * Secrets never leave it: keys that name a secret are masked, and known secret values are
 * replaced wherever they appear.
 */
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { REDACTED, isSecretKey } from './redact.js';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Values that must never be printed (access key secret, API key, …). */
  secrets?: readonly (string | undefined)[];
  /** Where lines go; standard output by default (one line per call, newline included). */
  write?: (line: string) => void;
}

/** Field names the formatter owns; meta keys with these names are renamed rather than lost. */
const RESERVED_FIELDS = new Set(['time', 'level', 'message']);

/** Secrets shorter than this are not searched for in text: they would match ordinary words. */
const MIN_SECRET_LENGTH = 6;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function toJson(value: unknown, hide: (text: string) => string, seen: WeakSet<object>, depth: number): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return hide(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'symbol' || typeof value === 'function') return String(value);
  if (typeof value !== 'object') return null;
  if (seen.has(value)) return '[circular]';
  if (depth > 8) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      const error: Record<string, Json> = { name: value.name, message: hide(value.message) };
      for (const [key, inner] of Object.entries(value)) {
        error[key] = isSecretKey(key) ? REDACTED : toJson(inner, hide, seen, depth + 1);
      }
      if (value.stack) error['stack'] = hide(value.stack);
      if (value.cause !== undefined) error['cause'] = toJson(value.cause, hide, seen, depth + 1);
      return error;
    }
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((item) => toJson(item, hide, seen, depth + 1));
    if (value instanceof Map) return toJson(Object.fromEntries(value), hide, seen, depth + 1);
    if (value instanceof Set) return toJson([...value], hide, seen, depth + 1);
    if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
    const object: Record<string, Json> = {};
    for (const [key, inner] of Object.entries(value)) {
      object[key] = isSecretKey(key) ? REDACTED : toJson(inner, hide, seen, depth + 1);
    }
    return object;
  } finally {
    seen.delete(value);
  }
}

/** Replaces every occurrence of every secret in the text. */
export function secretHider(secrets: readonly (string | undefined)[] = []): (text: string) => string {
  const values = [...new Set(secrets.filter((secret): secret is string => !!secret && secret.length >= MIN_SECRET_LENGTH))];
  if (values.length === 0) return (text) => text;
  return (text) => values.reduce((hidden, secret) => hidden.split(secret).join(REDACTED), text);
}

function metaFields(meta: LogMetadata | undefined, hide: (text: string) => string): Record<string, Json> {
  const fields: Record<string, Json> = {};
  if (!meta) return fields;
  // Symbol keys (the SDK's internal timestamp) are dropped by Object.entries.
  for (const [key, value] of Object.entries(meta)) {
    const name = RESERVED_FIELDS.has(key) ? `meta.${key}` : key;
    fields[name] = isSecretKey(key) ? REDACTED : toJson(value, hide, new WeakSet(), 0);
  }
  return fields;
}

function isoTime(timestampNanos: bigint): string {
  return new Date(Number(timestampNanos / 1_000_000n)).toISOString();
}

function prettyValue(value: Json): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** One log line (without the newline). */
export function formatLogEntry(entry: LogEntry, format: LogFormat, hide: (text: string) => string = (text) => text): string {
  const time = isoTime(entry.timestampNanos);
  const message = hide(entry.message);
  const fields = metaFields(entry.meta, hide);
  if (format === 'json') return JSON.stringify({ time, level: entry.level, message, ...fields });
  const rest = Object.entries(fields)
    .map(([key, value]) => `${key}=${prettyValue(value)}`)
    .join(' ');
  return `${time} ${entry.level.padEnd(5)} ${message}${rest ? ` ${rest}` : ''}`;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const hide = secretHider(options.secrets);
  return new DefaultLogger(options.level, (entry) => {
    write(`${formatLogEntry(entry, options.format, hide)}\n`);
  });
}
