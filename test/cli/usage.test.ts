/**
 * Usage errors and bad image ids are refused before Temporal is asked anything: exit 2, and with
 * --json a JSON error object on stdout. No server is needed (the address is unreachable on purpose:
 * reaching for it would exit 4).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { imgdel } from '../client/fixtures.js';

const BIN = fileURLToPath(new URL('../../bin/imgdel.mjs', import.meta.url));

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
  it.each([['status'], ['retry'], ['abandon'], ['cancel']])('%s img-dem exits 2 saying the id is invalid and nothing was sent', async (command) => {
    const run = await imgdel([command, 'img-dem'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'imgdel: invalid image id (nothing was sent to Temporal): must look like img-<letters and digits> or imgc-<letters and digits> (lower-case ASCII)\n',
    );
  });

  it('status --json of a bad id prints an InvalidInput error object', async () => {
    const run = await imgdel(['status', 'IMG-Bad', '--json'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'InvalidInput' } });
  });
});

describe('delete names the flag a bad value came from', () => {
  it.each([
    ['--region-concurrency', '0', 'must be a whole number from 1 to 32'],
    ['--region-concurrency', 'many', 'must be a whole number from 1 to 32'],
    ['--wait-for-creation', '-1', 'must not be negative'],
    ['--park-timeout', '2.5', 'must be whole seconds'],
    ['--reason', 'x'.repeat(501), 'must be at most 500 characters'],
  ])('%s %s', async (flag, value, problem) => {
    const run = await imgdel(['delete', 'img-a1b2c3d4', flag, value], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`imgdel: invalid deletion input (nothing was started): ${flag}: ${problem}\n`);
  });

  it('--worker-timeout without --wait or --dry-run is refused: it would be ignored', async () => {
    const run = await imgdel(['delete', 'img-a1b2c3d4', '--worker-timeout', '5', '--json'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'Usage', message: expect.stringContaining("'--worker-timeout <seconds>' needs --wait or --dry-run") } });
    expect(run.stderr).toContain('(run imgdel delete --help for usage)');
  });

  it.each([['retry'], ['abandon']])('%s names --update-id when its value is not one', async (command) => {
    const run = await imgdel([command, 'img-a1b2c3d4', '--update-id', 'retry 1', '--json'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({
      error: { code: 'InvalidInput', message: expect.stringContaining('--update-id: must be 1 to 255 printable characters without spaces') },
    });
  });

  it('list --limit out of range says its range', async () => {
    const run = await imgdel(['list', '--limit', '0', '--json'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'Usage', message: 'invalid options: --limit: must be a whole number from 1 to 10000' } });
  });

  it("a usage error points at the command's own help", async () => {
    const run = await imgdel(['abandon', 'img-a1b2c3d4', '--frobnicate'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('(run imgdel abandon --help for usage)');
  });
});

describe('an option that takes a value never swallows the next option', () => {
  it.each([
    ['delete', ['delete', 'img-a1b2c3d4', '--reason', '--dry-run'], "option '--reason <text>' took '--dry-run'"],
    ['delete', ['delete', 'img-a1b2c3d4', '--requested-by', '--dry-run'], "option '--requested-by <name>' took '--dry-run'"],
    ['abandon', ['abandon', 'img-a1b2c3d4', '--reason', '--json'], "option '--reason <text>' took '--json'"],
    ['list', ['list', '--status', '--json'], "option '--status <status>' took '--json'"],
  ])('%s %j exits 2 before contacting Temporal (a dry run is never started as a real deletion)', async (command, argv, problem) => {
    const run = await imgdel(argv, UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`imgdel: ${problem}`);
    expect(run.stderr).toContain(`(run imgdel ${command} --help for usage)`);
  });

  it.each([
    ['--region-concurrency', ['delete', 'img-a1b2c3d4', '--region-concurrency', '--dry-run']],
    ['--worker-timeout', ['retry', 'img-a1b2c3d4', '--worker-timeout', '--json']],
  ])('a number option %s followed by another option says it took that option, and exits 2', async (flag, argv) => {
    const run = await imgdel(argv, UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`option '${flag}`);
    expect(run.stderr).toContain(`Expected a number, not the option ${argv.at(-1) ?? ''}: give the option its value`);
  });

  it('a value that only starts like an option is text', async () => {
    // The reason is taken; the run goes on to Temporal, which is unreachable on purpose (exit 4).
    const run = await imgdel(['delete', 'img-a1b2c3d4', '--reason', '--dry-run was not enough', '--dry-run'], UNREACHABLE);
    expect(run.code).toBe(4);
  });
});

describe('help and version', () => {
  it.each(['delete', 'status', 'retry', 'abandon', 'cancel', 'list'])('%s --help gives the image id format (where it takes one) and the exit codes', async (command) => {
    const run = await imgdel([command, '--help'], UNREACHABLE);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Exit codes:');
    expect(run.stdout).toContain('5  no worker answered');
    if (command !== 'list') expect(run.stdout).toMatch(/imageId\s+the image: img- or imgc-/);
  });

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

describe('a reader that stops early', () => {
  it('is no error: `imgdel --help | head -1` exits 0 without a stack trace', async () => {
    const child = spawn(process.execPath, [BIN, '--help'], { env: { ...process.env, ...UNREACHABLE }, stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before imgdel writes a line: its writes meet a pipe nobody reads (EPIPE).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
