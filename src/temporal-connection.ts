/**
 * The one place that turns configuration into Temporal connection options, for the
 * worker (NativeConnection) and for the client and CLI (Connection): plain address,
 * mTLS, Temporal Cloud API key, or an @temporalio/envconfig profile (TEMPORAL_PROFILE).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions, TLSConfig } from '@temporalio/worker';
import { ConfigError, type Config, type TemporalConnectionConfig } from './config.js';

/** What to do when the server has no namespace of the configured name (said by the worker and the client alike). */
export function namespaceNotFoundMessage(address: string, namespace: string): string {
  return (
    `Temporal at ${address} has no namespace "${namespace}": set TEMPORAL_NAMESPACE (or the TEMPORAL_PROFILE's namespace) to one it has ` +
    `(temporal operator namespace list), or create it (temporal operator namespace create --namespace ${namespace})`
  );
}

/**
 * What to do when the server refuses imgdel's credentials, or lets them in but not into the
 * namespace (said by the worker and the client alike); `reason` is the server's own words.
 */
export function temporalRefusedMessage(address: string, namespace: string, reason: string): string {
  return (
    `Temporal at ${address} refused imgdel for namespace "${namespace}" (${reason}): check the credentials it connects with ` +
    '(TEMPORAL_API_KEY, or TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH, or the TEMPORAL_PROFILE that sets them) ' +
    'and that they are allowed to use this namespace'
  );
}

/** Connection options plus the namespace to use with them. */
export interface TemporalTarget<Options> {
  connectionOptions: Options;
  namespace: string;
}

type ConfigOrTemporal = Config | TemporalConnectionConfig;

function temporalSection(config: ConfigOrTemporal): TemporalConnectionConfig {
  return 'temporal' in config ? config.temporal : config;
}

function readPemFile(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`${variable}: cannot read ${path} (${reason})`);
  }
}

function tlsFromConfig(temporal: TemporalConnectionConfig): TLSConfig | undefined {
  const tls = temporal.tls;
  if (!tls) return undefined;
  const { clientCertPath, clientKeyPath, serverCaCertPath, serverName } = tls;
  if ((clientCertPath === undefined) !== (clientKeyPath === undefined)) {
    throw new ConfigError(
      'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together (mTLS needs both the certificate and its key)',
    );
  }
  return {
    ...(serverName ? { serverNameOverride: serverName } : {}),
    ...(serverCaCertPath ? { serverRootCACertificate: readPemFile(serverCaCertPath, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH') } : {}),
    ...(clientCertPath && clientKeyPath
      ? {
          clientCertPair: {
            crt: readPemFile(clientCertPath, 'TEMPORAL_TLS_CLIENT_CERT_PATH'),
            key: readPemFile(clientKeyPath, 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
          },
        }
      : {}),
  };
}

/**
 * The profile alone supplies the connection (README: "instead of the variables above"): envconfig
 * would otherwise read TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS*
 * from the process itself, unchecked, over the profile. What the profile leaves out comes from
 * the checked config (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and their defaults).
 */
function fromProfile(temporal: TemporalConnectionConfig, profile: string): TemporalTarget<NativeConnectionOptions> {
  try {
    const loaded = loadClientConnectConfig({
      profile,
      disableEnv: true,
      ...(temporal.configFile ? { configSource: { path: temporal.configFile } } : {}),
    });
    return {
      connectionOptions: { ...loaded.connectionOptions, address: loaded.connectionOptions.address ?? temporal.address },
      namespace: loaded.namespace ?? temporal.namespace,
    };
  } catch (error) {
    throw new ConfigError(`TEMPORAL_PROFILE=${profile}: cannot load the Temporal client profile (${profileErrorReason(error)})`);
  }
}

/**
 * Why a profile could not be loaded, without quoting the file: a TOML syntax error's message ends
 * with the lines around the error, which may hold the profile's api_key or an inline client key,
 * and this reason is printed (stderr, the CLI's --json) where secrets must not appear. The line
 * and column say where to look instead.
 */
function profileErrorReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n', 1)[0]?.trim() ?? '';
  const line = typeof error === 'object' && error !== null && 'line' in error && typeof error.line === 'number' ? error.line : undefined;
  const column = typeof error === 'object' && error !== null && 'column' in error && typeof error.column === 'number' ? error.column : undefined;
  if (line === undefined) return firstLine;
  return `${firstLine}, at line ${line}${column === undefined ? '' : `, column ${column}`}`;
}

/** Options for `NativeConnection.connect` (the worker). */
export function nativeConnectionOptions(config: ConfigOrTemporal): TemporalTarget<NativeConnectionOptions> {
  const temporal = temporalSection(config);
  if (temporal.profile) return fromProfile(temporal, temporal.profile);
  const tls = tlsFromConfig(temporal);
  return {
    connectionOptions: {
      address: temporal.address,
      // An API key implies TLS (Temporal Cloud); the SDK turns `undefined` into TLS when a key is present.
      ...(tls ? { tls } : {}),
      ...(temporal.apiKey ? { apiKey: temporal.apiKey } : {}),
    },
    namespace: temporal.namespace,
  };
}

/** Options for `Connection.connect` of @temporalio/client (the client library and the CLI). */
export function clientConnectionOptions(config: ConfigOrTemporal): TemporalTarget<ConnectionOptions> {
  const native = nativeConnectionOptions(config);
  const { address, tls, apiKey, metadata } = native.connectionOptions;
  return {
    connectionOptions: {
      ...(address ? { address } : {}),
      ...(tls === undefined ? {} : { tls }),
      ...(apiKey ? { apiKey } : {}),
      ...(metadata ? { metadata } : {}),
    },
    namespace: native.namespace,
  };
}
