/** Environment → zod → typed config: defaults, derived values and clear errors. */
import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, loadClientConfig, loadConfig } from '../../src/config.js';

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

  it('lets up to 10 images share a desktop-group check by default, and takes 1 to 50', () => {
    expect(loadConfig({}).cloud.usageCheckBatch).toBe(10);
    expect(loadConfig({ IMGDEL_USAGE_CHECK_BATCH: '1' }).cloud.usageCheckBatch).toBe(1);
    expect(loadConfig({ IMGDEL_USAGE_CHECK_BATCH: '50' }).cloud.usageCheckBatch).toBe(50);
    for (const bad of ['0', '51', '2.5', 'many']) expect(() => loadConfig({ IMGDEL_USAGE_CHECK_BATCH: bad })).toThrow('IMGDEL_USAGE_CHECK_BATCH');
  });

  it('names the actions a rate limit may name when it names another', () => {
    expect(() => loadConfig({ IMGDEL_CLOUD_RATE_LIMITS: 'DeleteImage=5,DeleteImages=5' })).toThrow(
      /IMGDEL_CLOUD_RATE_LIMITS: DeleteImages is not an action imgdel calls \(ListImage, DeleteImage, /,
    );
  });

  it.each([
    [{ IMGDEL_METRICS_PORT: '9464', IMGDEL_HEALTH_PORT: '9464' }, 'IMGDEL_HEALTH_PORT: must differ from IMGDEL_METRICS_PORT (both 9464)'],
    [{ ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tExample' }, 'ALIBABA_CLOUD_ACCESS_KEY_SECRET: missing'],
    [{ ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret-value' }, 'ALIBABA_CLOUD_ACCESS_KEY_ID: missing'],
    [{ ALIBABA_CLOUD_SECURITY_TOKEN: 'CAIS-token' }, 'ALIBABA_CLOUD_SECURITY_TOKEN: an STS token is used only with the access key'],
    // Past 2^31 - 1 ms the SDK's force timer would fire at once: a SIGTERM would end the worker with exit 1.
    [{ IMGDEL_SHUTDOWN_GRACE_MS: '2147483000' }, 'IMGDEL_SHUTDOWN_GRACE_MS: with IMGDEL_CLOUD_CONNECT_TIMEOUT_MS, IMGDEL_CLOUD_READ_TIMEOUT_MS and 5000 ms more, a shutdown may wait 2147508000 ms'],
    [{ IMGDEL_CLOUD_READ_TIMEOUT_MS: '3000000000' }, 'more than a timer can wait (2147483647 ms'],
  ])('refuses settings that contradict one another: %j', (env, problem) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(problem);
  });

  it('refuses TEMPORAL_TLS=false beside a TLS setting, for the worker and the client alike', () => {
    const env = { TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_NAME: 'temporal.example' };
    for (const load of [loadConfig, loadClientConfig]) {
      expect(() => load(env)).toThrow(ConfigError);
      expect(() => load(env)).toThrow('TEMPORAL_TLS: false, but TEMPORAL_TLS_SERVER_NAME asks for TLS');
    }
    // An API key goes only over TLS: "false" beside it would be ignored, so it is refused too.
    for (const load of [loadConfig, loadClientConfig]) {
      expect(() => load({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'key-123456' })).toThrow('TEMPORAL_TLS: false, but TEMPORAL_API_KEY is sent only over TLS');
    }
    expect(loadClientConfig({ TEMPORAL_TLS: 'false' }).temporal.tls).toBeUndefined();
    expect(loadClientConfig({ TEMPORAL_TLS_SERVER_NAME: 'temporal.example' }).temporal.tls?.serverName).toBe('temporal.example');
  });

  it('takes a shutdown that waits as long as a timer can', () => {
    const config = loadConfig({ IMGDEL_SHUTDOWN_GRACE_MS: String(2_147_483_647 - 5_000 - 15_000 - 5_000) });
    expect(config.worker.shutdownForceTimeMs).toBe(2_147_483_647);
  });

  it('takes a full key, with or without its STS token, and distinct ports', () => {
    const config = loadConfig({
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tExample',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret-value',
      ALIBABA_CLOUD_SECURITY_TOKEN: 'CAIS-token',
      IMGDEL_METRICS_PORT: '9464',
      IMGDEL_HEALTH_PORT: '8081',
    });
    expect(config.cloud.securityToken).toBe('CAIS-token');
    expect(config.worker.healthPort).toBe(8081);
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig({ IMGDEL_METRICS_PORT: '', ALIBABA_CLOUD_ACCESS_KEY_ID: ' ', IMGDEL_ACCOUNT_ID: '' });
    expect(config.worker.metricsPort).toBeUndefined();
    expect(config.cloud.accessKeyId).toBeUndefined();
    expect(config.cloud.accountId).toBeUndefined();
  });

  it.each([
    ['TEMPORAL_ADDRESS', 'no port here'],
    ['TEMPORAL_ADDRESS', 'localhost:99999'],
    ['IMGDEL_CLOUD_ENDPOINT', '127.0.0.1:0'],
    ['IMGDEL_CLOUD_ENDPOINT', '127.0.0.1:65536'],
    ['IMGDEL_ACCOUNT_ID', 'abc'],
    ['IMGDEL_CLOUD_RATE_LIMITS', 'DeleteImage:19'],
    ['IMGDEL_CLOUD_RATE_LIMITS', 'DeleteImages=5'],
    ['IMGDEL_METRICS_PORT', '70000'],
    ['IMGDEL_HEALTH_PORT', '0'],
    ['IMGDEL_OBSERVABILITY_HOST', 'localhost'],
    ['IMGDEL_LOG_LEVEL', 'LOUD'],
  ])('refuses a bad %s, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('treats every empty variable as unset: all blank is the defaults (a `VAR=` line in an env file)', () => {
    const allBlank = Object.fromEntries(Object.keys(envSchema.shape).map((name) => [name, '']));
    expect(loadConfig(allBlank)).toEqual(loadConfig({}));
    const allSpaces = Object.fromEntries(Object.keys(envSchema.shape).map((name) => [name, '  ']));
    expect(loadConfig(allSpaces)).toEqual(loadConfig({}));
  });

  it.each(['IMGDEL_CLOUD_RATE', 'IMGDEL_CLOUD_READ_TIMEOUT_MS', 'IMGDEL_TASK_QUEUE', 'IMGDEL_CLOUD_ENDPOINT', 'IMGDEL_CLOUD_PROTOCOL', 'TEMPORAL_NAMESPACE'])(
    '%s= means its default',
    (name) => {
      expect(loadConfig({ [name]: '' })).toEqual(loadConfig({}));
    },
  );

  it('says what is wrong on one line, naming every bad variable', () => {
    const error = (() => {
      try {
        loadConfig({ IMGDEL_LOG_LEVEL: 'LOUD', IMGDEL_CLOUD_RATE: 'fast' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = error instanceof Error ? error.message : '';
    expect(message).not.toContain('\n');
    expect(message).toContain('IMGDEL_LOG_LEVEL');
    expect(message).toContain('IMGDEL_CLOUD_RATE');
  });

  it.each([
    ['IMGDEL_CLOUD_RATE', 'fast', 'IMGDEL_CLOUD_RATE: must be a number of requests per second, e.g. 18'],
    ['IMGDEL_MAX_CONCURRENT_ACTIVITIES', '1.5', 'IMGDEL_MAX_CONCURRENT_ACTIVITIES: must be a whole number, e.g. 100'],
    ['IMGDEL_MAX_CACHED_WORKFLOWS', '0', 'IMGDEL_MAX_CACHED_WORKFLOWS: must be greater than 0'],
    ['IMGDEL_METRICS_PORT', '99999', 'IMGDEL_METRICS_PORT: must be a port number from 1 to 65535'],
    ['IMGDEL_USAGE_CHECK_BATCH', 'ten', 'IMGDEL_USAGE_CHECK_BATCH: must be a whole number from 1 to 50'],
  ])('says in plain words what %s=%s should be', (name, value, expected) => {
    expect(() => loadConfig({ [name]: value })).toThrow(expected);
  });
});

describe('loadClientConfig', () => {
  it('reads only the connection and the task queue: worker-only variables never fail a client', () => {
    const config = loadClientConfig({
      TEMPORAL_ADDRESS: '10.0.0.5:7233',
      IMGDEL_TASK_QUEUE: 'images-eu',
      IMGDEL_LOG_LEVEL: 'info',
      IMGDEL_CLOUD_ENDPOINT: 'not an endpoint',
      IMGDEL_CLOUD_RATE: 'fast',
    });
    expect(config).toEqual({ temporal: { address: '10.0.0.5:7233', namespace: 'default' }, taskQueue: 'images-eu' });
  });

  it('refuses a bad connection variable, naming it', () => {
    expect(() => loadClientConfig({ TEMPORAL_ADDRESS: 'no port' })).toThrow(/TEMPORAL_ADDRESS/);
  });

  it('gives the client the same temporal section as the worker', () => {
    const env = { TEMPORAL_TLS_CLIENT_KEY_PATH: '/k.pem', TEMPORAL_API_KEY: 'key', TEMPORAL_UI_URL: 'https://ui.example' };
    expect(loadClientConfig(env).temporal).toEqual(loadConfig(env).temporal);
  });
});

