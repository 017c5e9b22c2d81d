/**
 * The CLI's configuration: it reads only the connection variables (never the worker's), checks
 * them as the worker does (one connection builder), and a bad one exits 2 naming the variable.
 * No worker is needed: the server is the test run's dev server, or nothing at all.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, createImgdelClient } from '../../src/client/index.js';
import { imgdel } from '../client/fixtures.js';
import { testNamespace, testTemporalAddress } from '../helpers/temporal.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

/** Nothing listens there: a connection attempt would exit 4, so exit 2 proves the check came first. */
const UNREACHABLE = { TEMPORAL_ADDRESS: '127.0.0.1:1' };

const tempDir = useTempDirs();

function tempFile(name: string, content: string): string {
  const file = join(tempDir('imgdel-cli-config-'), name);
  writeFileSync(file, content);
  return file;
}

describe('imgdel refuses a bad connection configuration: exit 2, naming the variable', () => {
  it('a client certificate without its key (mTLS is not silently dropped)', async () => {
    const run = await imgdel(['status', 'img-a1b2c3d4'], { ...UNREACHABLE, TEMPORAL_TLS_CLIENT_CERT_PATH: tempFile('client.pem', 'CERT') });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('TEMPORAL_TLS_CLIENT_KEY_PATH');
  });

  it('a CA file that does not exist', async () => {
    const run = await imgdel(['status', 'img-a1b2c3d4', '--json'], { ...UNREACHABLE, TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(tmpdir(), 'imgdel-no-such-ca.pem') });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'InvalidConfiguration' } });
    expect(run.stderr).toContain('TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  });

  it('a profile that is not in the config file', async () => {
    const file = tempFile('temporal.toml', '[profile.staging]\naddress = "127.0.0.1:1"\n');
    const run = await imgdel(['status', 'img-a1b2c3d4', '--json'], { TEMPORAL_PROFILE: 'prod', TEMPORAL_CONFIG_FILE: file });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'InvalidConfiguration' } });
    expect(run.stderr).toContain('TEMPORAL_PROFILE=prod');
  });
});

describe('imgdel ignores the worker-only variables', () => {
  it('IMGDEL_LOG_LEVEL=info, IMGDEL_CLOUD_ENDPOINT= and a blank IMGDEL_TASK_QUEUE do not stop `imgdel status`', async () => {
    const run = await imgdel(['status', 'img-nodeletion0002'], {
      TEMPORAL_ADDRESS: testTemporalAddress(),
      TEMPORAL_NAMESPACE: testNamespace(),
      IMGDEL_LOG_LEVEL: 'info',
      IMGDEL_CLOUD_ENDPOINT: '',
      IMGDEL_CLOUD_RATE: 'fast',
      IMGDEL_TASK_QUEUE: '',
    });
    expect(run.stderr).toContain('no deletion found for image img-nodeletion0002');
    expect(run.code).toBe(1);
  });

  it('createImgdelClient refuses a bad variable with a ConfigError that services can catch from imgdel/client', () => {
    expect(() => createImgdelClient({ env: { TEMPORAL_ADDRESS: 'not host:port' } })).toThrow(ConfigError);
    expect(() => createImgdelClient({ env: { TEMPORAL_ADDRESS: 'not host:port' } })).toThrow(/TEMPORAL_ADDRESS/);
  });

  it('createImgdelClient({ address }) is not refused for an unrelated or overridden variable', async () => {
    const client = createImgdelClient({
      address: testTemporalAddress(),
      namespace: testNamespace(),
      env: { IMGDEL_LOG_LEVEL: 'loud', IMGDEL_MAX_CACHED_WORKFLOWS: 'many', TEMPORAL_ADDRESS: 'not host:port' },
    });
    try {
      expect(client.address).toBe(testTemporalAddress());
      expect(client.taskQueue).toBe('image-deletion');
      expect(await client.list({ limit: 1 })).toBeInstanceOf(Array);
    } finally {
      await client.close();
    }
  });
});
