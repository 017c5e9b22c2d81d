/**
 * Where the client connects: the environment (src/config.ts), an @temporalio/envconfig
 * profile (TEMPORAL_PROFILE), or explicit options — in that order of precedence, the
 * explicit options winning. Also computes the Temporal UI link of a workflow.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { Config } from '../config.js';

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

export function resolveConnectionTarget(config: Config, overrides: TargetOverrides = {}): ConnectionTarget {
  const temporal = config.temporal;
  let connectionOptions: ConnectionOptions;
  let namespace = temporal.namespace;
  if (temporal.profile !== undefined) {
    const loaded = loadClientConnectConfig({
      profile: temporal.profile,
      ...(temporal.configFile === undefined ? {} : { configSource: { path: temporal.configFile } }),
    });
    const fromProfile = loaded.connectionOptions;
    connectionOptions = {
      address: fromProfile.address ?? temporal.address,
      ...(fromProfile.tls === undefined ? {} : { tls: fromProfile.tls }),
      ...(fromProfile.apiKey === undefined ? {} : { apiKey: fromProfile.apiKey }),
      ...(fromProfile.metadata === undefined ? {} : { metadata: fromProfile.metadata }),
    };
    namespace = loaded.namespace ?? namespace;
  } else {
    const tls = temporal.tls;
    connectionOptions = {
      address: temporal.address,
      ...(temporal.apiKey === undefined ? {} : { apiKey: temporal.apiKey }),
      ...(tls === undefined && temporal.apiKey === undefined
        ? {}
        : {
            tls: {
              ...(tls?.serverName === undefined ? {} : { serverNameOverride: tls.serverName }),
              ...(tls?.serverCaCertPath === undefined ? {} : { serverRootCACertificate: readFileSync(tls.serverCaCertPath) }),
              ...(tls?.clientCertPath !== undefined && tls.clientKeyPath !== undefined
                ? { clientCertPair: { crt: readFileSync(tls.clientCertPath), key: readFileSync(tls.clientKeyPath) } }
                : {}),
            },
          }),
    };
  }
  if (overrides.address !== undefined) connectionOptions = { ...connectionOptions, address: overrides.address };
  const address = connectionOptions.address ?? temporal.address;
  return {
    address,
    namespace: overrides.namespace ?? namespace,
    connectionOptions,
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
