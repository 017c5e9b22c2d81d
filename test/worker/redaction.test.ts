import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { REDACTED, configSecrets, redactedConfig } from '../../src/observability/redact.js';

const SECRET = 'very-secret-access-key-value-42';
const API_KEY = 'temporal-cloud-api-key-abcdef';
const TOKEN = 'sts-security-token-123456';

const configWithSecrets = () =>
  loadConfig({
    TEMPORAL_ADDRESS: 'example.tmprl.cloud:7233',
    TEMPORAL_API_KEY: API_KEY,
    ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tExampleKeyId',
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET,
    ALIBABA_CLOUD_SECURITY_TOKEN: TOKEN,
    IMGDEL_ACCOUNT_ID: '1234567890123456',
  });

describe('redactedConfig', () => {
  it('replaces every secret and masks the access key id', () => {
    const redacted = redactedConfig(configWithSecrets());
    expect(redacted.temporal.apiKey).toBe(REDACTED);
    expect(redacted.cloud.accessKeySecret).toBe(REDACTED);
    expect(redacted.cloud.securityToken).toBe(REDACTED);
    expect(redacted.cloud.accessKeyId).toBe('LTAI****');
    const text = JSON.stringify(redacted);
    for (const secret of [SECRET, API_KEY, TOKEN, 'LTAI5tExampleKeyId']) expect(text).not.toContain(secret);
  });

  it('keeps everything that is not secret, and does not touch the original', () => {
    const config = configWithSecrets();
    const redacted = redactedConfig(config);
    expect(redacted.temporal.address).toBe('example.tmprl.cloud:7233');
    expect(redacted.cloud.accountId).toBe('1234567890123456');
    expect(redacted.worker).toEqual(config.worker);
    expect(redacted.taskQueue).toBe('image-deletion');
    expect(config.cloud.accessKeySecret).toBe(SECRET);
    expect(config.temporal.apiKey).toBe(API_KEY);
  });

  it('does not invent secrets that are not set', () => {
    const redacted = redactedConfig(loadConfig({}));
    expect('apiKey' in redacted.temporal).toBe(false);
    expect('accessKeySecret' in redacted.cloud).toBe(false);
    expect(configSecrets(loadConfig({}))).toEqual([]);
  });
});

describe('the logger never prints a secret', () => {
  it('masks secret-named meta keys and secret values anywhere in a line', () => {
    const config = configWithSecrets();
    const lines: string[] = [];
    const logger = createLogger({ level: 'DEBUG', format: 'json', secrets: configSecrets(config), write: (line) => lines.push(line) });
    logger.info('imgdel worker starting', { config: redactedConfig(config) });
    logger.info('raw config, by mistake', { config });
    logger.warn(`call failed with key ${SECRET}`, { error: new Error(`signature mismatch for ${SECRET}`), nested: { deeper: [API_KEY] } });
    logger.info('credentials', { accessKeySecret: 'short', apiKey: 'x', password: 'hunter2' });
    const output = lines.join('');
    expect(lines).toHaveLength(4);
    for (const secret of [SECRET, API_KEY, TOKEN, 'hunter2']) expect(output).not.toContain(secret);
    expect(output).toContain(REDACTED);
  });
});
