/**
 * Usage errors and bad image ids are refused before Temporal is asked anything: exit 2, and with
 * --json a JSON error object on stdout. No server is needed (the address is unreachable on purpose:
 * reaching for it would exit 4).
 */
import { describe, expect, it } from 'vitest';
import { imgdel } from '../client/fixtures.js';

const UNREACHABLE = { TEMPORAL_ADDRESS: '127.0.0.1:1' };

describe('usage errors with --json', () => {
  it.each([
    ['an unknown option', ['delete', 'img-a1b2c3d4', '--frobnicate', '--json']],
    ['a missing argument', ['status', '--json']],
    ['an unknown command', ['explode', '--json']],
    ['a bad --worker-timeout', ['retry', 'img-a1b2c3d4', '--worker-timeout', 'soon', '--json']],
  ])('print {"error":{"code":"Usage"}} on stdout for %s', async (_label, argv) => {
    const run = await imgdel(argv, UNREACHABLE);
    expect(run.code).toBe(2);
    const printed: unknown = JSON.parse(run.stdout);
    expect(printed).toMatchObject({ error: { code: 'Usage', message: expect.any(String) } });
  });

  it('print nothing on stdout without --json', async () => {
    const run = await imgdel(['delete', 'img-a1b2c3d4', '--frobnicate'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
  });
});

describe('every command checks the image id first', () => {
  it.each([['status'], ['retry'], ['abandon'], ['cancel']])('%s img-dem exits 2 with the usual message', async (command) => {
    const run = await imgdel([command, 'img-dem'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/invalid deletion input \(nothing was started\): imageId/);
  });

  it('status --json of a bad id prints an InvalidInput error object', async () => {
    const run = await imgdel(['status', 'IMG-Bad', '--json'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'InvalidInput' } });
  });
});

describe('help and version', () => {
  it('--version prints the package version', async () => {
    const run = await imgdel(['--version'], UNREACHABLE);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('--help names the TLS and API key variables with the connection', async () => {
    const run = await imgdel(['--help'], UNREACHABLE);
    for (const name of ['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH']) {
      expect(run.stdout).toContain(name);
    }
    expect(run.stdout).toContain('5  no worker answered');
  });
});
