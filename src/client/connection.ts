/**
 * Where the client connects and where its UI links point. The connection options come from
 * clientConnectionOptions (src/temporal-connection.ts), the one builder the worker uses too,
 * so the CLI and the client make the same checks (mTLS pairs, readable PEM files, the profile);
 * explicit options (address, namespace, UI URL) win over the environment.
 */
import type { ConnectionOptions } from '@temporalio/client';
import type { TemporalConnectionConfig } from '../config.js';
import { clientConnectionOptions } from '../temporal-connection.js';

export interface ConnectionTarget {
  address: string;
  namespace: string;
  /** Options for Connection.connect (address included). */
  connectionOptions: ConnectionOptions;
  uiUrl: string;
}

export interface TargetOverrides {
  address?: string;
  namespace?: string;
  uiUrl?: string;
}

/** Throws ConfigError (naming the variable) for a half mTLS pair, an unreadable PEM file or a bad profile. */
export function resolveConnectionTarget(config: { temporal: TemporalConnectionConfig }, overrides: TargetOverrides = {}): ConnectionTarget {
  const temporal = config.temporal;
  const shared = clientConnectionOptions(temporal);
  // A profile without an address falls back to TEMPORAL_ADDRESS (default localhost:7233).
  const address = overrides.address ?? shared.connectionOptions.address ?? temporal.address;
  return {
    address,
    namespace: overrides.namespace ?? shared.namespace,
    connectionOptions: { ...shared.connectionOptions, address },
    uiUrl: stripTrailingSlash(overrides.uiUrl ?? temporal.uiUrl ?? defaultUiUrl(address)),
  };
}

/** The dev server serves its UI on the gRPC port + 1000; Temporal Cloud has one UI for all. */
export function defaultUiUrl(address: string): string {
  const match = /^(.*):(\d+)$/.exec(address);
  const host = match?.[1] ?? address;
  if (host.endsWith('.tmprl.cloud')) return 'https://cloud.temporal.io';
  const port = match?.[2] === undefined ? 7233 : Number(match[2]);
  return `http://${host}:${port + 1000}`;
}

export function workflowUiLink(uiUrl: string, namespace: string, workflowId: string): string {
  return `${stripTrailingSlash(uiUrl)}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
