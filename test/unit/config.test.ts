/** Environment → zod → typed config: defaults, derived values and clear errors. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('runs on embedded defaults', () => {
    const config = loadConfig({});
    expect(config.temporal).toMatchObject({ address: 'localhost:7233', namespace: 'default' });
    expect(config.taskQueue).toBe('image-deletion');
    expect(config.cloud).toMatchObject({ protocol: 'HTTPS', region: 'cn-shanghai', defaultRatePerSecond: 18 });
    expect(config.cloud.endpoint).toBeUndefined();
    expect(config.worker.production).toBe(false);
  });

  it('talks plain HTTP to a given endpoint unless told otherwise', () => {
    expect(loadConfig({ IMGDEL_CLOUD_ENDPOINT: '127.0.0.1:8787' }).cloud.protocol).toBe('HTTP');
    expect(loadConfig({ IMGDEL_CLOUD_ENDPOINT: 'proxy:443', IMGDEL_CLOUD_PROTOCOL: 'HTTPS' }).cloud.protocol).toBe('HTTPS');
  });

  it('parses per-action rate limits', () => {
    const config = loadConfig({ IMGDEL_CLOUD_RATE_LIMITS: 'DeleteImage=19, ListImage=40.5' });
    expect(config.cloud.ratePerSecondByAction).toEqual({ DeleteImage: 19, ListImage: 40.5 });
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig({ IMGDEL_METRICS_PORT: '', ALIBABA_CLOUD_ACCESS_KEY_ID: ' ', IMGDEL_ACCOUNT_ID: '' });
    expect(config.worker.metricsPort).toBeUndefined();
    expect(config.cloud.accessKeyId).toBeUndefined();
    expect(config.cloud.accountId).toBeUndefined();
  });

  it.each([
    ['TEMPORAL_ADDRESS', 'no port here'],
    ['IMGDEL_ACCOUNT_ID', 'abc'],
    ['IMGDEL_CLOUD_RATE_LIMITS', 'DeleteImage:19'],
    ['IMGDEL_METRICS_PORT', '70000'],
    ['IMGDEL_LOG_LEVEL', 'LOUD'],
  ])('refuses a bad %s, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
