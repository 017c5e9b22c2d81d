/**
 * What of the configuration may be printed. The startup log line shows the effective
 * configuration through redactedConfig(); secrets show only whether they are set.
 */
import type { Config } from '../config.js';

export const REDACTED = '[redacted]';

/** Key names whose values are secrets wherever they appear (config, log meta, error fields). */
const SECRET_KEY_PATTERN = /secret|password|passwd|api[-_]?key|security[-_]?token|session[-_]?token|authorization|credential/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

/** An access key id is an identifier, not a secret, but only its prefix is needed to tell keys apart. */
function maskIdentifier(value: string): string {
  return value.length <= 4 ? '****' : `${value.slice(0, 4)}****`;
}

export type RedactedConfig = Omit<Config, 'temporal' | 'cloud'> & {
  temporal: Omit<Config['temporal'], 'apiKey'> & { apiKey?: string };
  cloud: Omit<Config['cloud'], 'accessKeyId' | 'accessKeySecret' | 'securityToken'> & {
    accessKeyId?: string;
    accessKeySecret?: string;
    securityToken?: string;
  };
};

/** The configuration with every secret replaced by "[redacted]" (and the access key id masked). */
export function redactedConfig(config: Config): RedactedConfig {
  const { apiKey, ...temporal } = config.temporal;
  const { accessKeyId, accessKeySecret, securityToken, ...cloud } = config.cloud;
  return {
    ...config,
    temporal: { ...temporal, ...(apiKey === undefined ? {} : { apiKey: REDACTED }) },
    cloud: {
      ...cloud,
      ratePerSecondByAction: { ...cloud.ratePerSecondByAction },
      ...(accessKeyId === undefined ? {} : { accessKeyId: maskIdentifier(accessKeyId) }),
      ...(accessKeySecret === undefined ? {} : { accessKeySecret: REDACTED }),
      ...(securityToken === undefined ? {} : { securityToken: REDACTED }),
    },
    worker: { ...config.worker },
  };
}

/** Every secret value the configuration holds, for the logger to hide wherever it appears. */
export function configSecrets(config: Config): string[] {
  return [config.temporal.apiKey, config.cloud.accessKeySecret, config.cloud.securityToken].filter(
    (value): value is string => value !== undefined && value !== '',
  );
}
