/**
 * The Temporal CLI cache: only versions ≥ 1.4 are built, and a cached build is used only when the
 * temporalio/cli version recorded in the binary (Go's build info) is ≥ 1.4. Fake binaries here:
 * the build info line is all that is read.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  cachedTemporalCliPath,
  ensureTemporalCli,
  goInstallEnv,
  isAtLeast,
  moduleVersionInBinary,
  parseTemporalVersion,
  TEMPORAL_CLI_BUILD_VERSIONS,
  TemporalCliUnavailableError,
} from '../../src/dev/temporal-cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

/** A file shaped like a Go binary's build info, the module line straddling a 1 MiB read boundary. */
function fakeGoBinary(path: string, version: string): void {
  const line = Buffer.from(`path\tgithub.com/temporalio/cli/cmd/temporal\nmod\tgithub.com/temporalio/cli\t${version}\th1:abc=\n`);
  const padding = Buffer.alloc((1 << 20) - 20, 0x41);
  writeFileSync(path, Buffer.concat([padding, line, Buffer.alloc(4096, 0x42)]));
  chmodSync(path, 0o755);
}

const freshDir = useTempDirs();

/** Runs `body` (which has ensureTemporalCli in scope) in a process of its own; resolves with its exit code. */
function ensureInChild(env: NodeJS.ProcessEnv, body: string): Promise<number | null> {
  const module = fileURLToPath(new URL('../../src/dev/temporal-cli.ts', import.meta.url));
  const script = `import { ensureTemporalCli } from ${JSON.stringify(module)};\n${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env,
    stdio: 'ignore',
  });
  return new Promise((resolveExit) => child.once('exit', resolveExit));
}

/** A cache in a fresh directory, and a PATH with neither temporal nor go on it. */
function isolatedEnv(): NodeJS.ProcessEnv {
  const root = freshDir('imgdel-cli-cache-');
  const emptyBin = join(root, 'empty-bin');
  mkdirSync(emptyBin);
  return { XDG_CACHE_HOME: join(root, 'cache'), PATH: emptyBin };
}

describe('Temporal CLI cache', () => {
  it('builds only versions that have the flags imgdel passes (≥ 1.4)', () => {
    for (const version of TEMPORAL_CLI_BUILD_VERSIONS) {
      const [major = 0, minor = 0, patch = 0] = version.slice(1).split('.').map(Number);
      expect(isAtLeast({ major, minor, patch }, { major: 1, minor: 4, patch: 0 }), version).toBe(true);
    }
  });

  it('reads the version `temporal --version` prints, with or without a v', () => {
    expect(parseTemporalVersion('temporal version 1.5.1 (Server 1.29.0, UI 2.41.0)')).toEqual({ major: 1, minor: 5, patch: 1 });
    expect(parseTemporalVersion('temporal version v1.4.0')).toEqual({ major: 1, minor: 4, patch: 0 });
    expect(parseTemporalVersion('temporal 1.5.1')).toBeUndefined();
  });

  it('reads the module version from the build info, across read boundaries', async () => {
    const file = join(freshDir('imgdel-fake-go-'), 'temporal');
    fakeGoBinary(file, 'v1.5.1');
    expect(await moduleVersionInBinary(file)).toBe('v1.5.1');
  });

  it('uses a cached build of 1.5.1 (and stamps its version, so it is read once)', async () => {
    const env = isolatedEnv();
    const cached = cachedTemporalCliPath(env);
    mkdirSync(join(cached, '..'), { recursive: true });
    fakeGoBinary(cached, 'v1.5.1');
    expect(await ensureTemporalCli(() => undefined, env)).toBe(cached);
    expect(existsSync(`${cached}.version`)).toBe(true);
    expect(await ensureTemporalCli(() => undefined, env)).toBe(cached);
  });

  it('does not use a cached build older than 1.4: it says so and would build another', async () => {
    const env = isolatedEnv();
    const cached = cachedTemporalCliPath(env);
    mkdirSync(join(cached, '..'), { recursive: true });
    fakeGoBinary(cached, 'v1.3.0');
    const said: string[] = [];
    // No Go on PATH here, so "building another" ends in the message naming the ways out.
    const failure = await ensureTemporalCli((line) => said.push(line), env).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TemporalCliUnavailableError);
    expect(said.join('\n')).toContain('version 1.3.0 is older than 1.4.0');
    // The way-out message names the build it found, not "no build".
    expect(String(failure)).toContain(`the build at ${cached} is older than 1.4.0 or of unknown version`);
    expect(String(failure)).not.toContain('no build at');
  });
});

describe('a build cut short', () => {
  it('leaves no lock, staging directory or go process behind when the process exits mid-build (npm start on Ctrl-C)', async () => {
    const env = isolatedEnv();
    const bin = env.PATH ?? '';
    const goPidFile = join(freshDir('imgdel-fake-go-'), 'go.pid');
    // A go that only waits: the build is still running when the process exits.
    writeFileSync(join(bin, 'go'), `#!/bin/sh\necho $$ > '${goPidFile}'\nexec /bin/sleep 60\n`);
    chmodSync(join(bin, 'go'), 0o755);
    // As npm start's signal handler does: process.exit while the build runs.
    const exit = await ensureInChild(
      env,
      "void ensureTemporalCli((line) => { if (line.startsWith('building')) setTimeout(() => process.exit(0), 500); }, process.env);",
    );
    expect(exit).toBe(0);
    const cacheDir = join(env.XDG_CACHE_HOME ?? '', 'imgdel');
    expect(existsSync(join(cacheDir, 'temporal-build.lock'))).toBe(false);
    expect(readdirSync(join(cacheDir, 'bin')).filter((name) => name.startsWith('.build-'))).toEqual([]);
    const goPid = Number(readFileSync(goPidFile, 'utf8'));
    const goGone = async () => {
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(goPid, 0);
        } catch {
          return true;
        }
        await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      }
      return false;
    };
    expect(await goGone()).toBe(true);
  }, 30_000);
});

describe('the build lock', () => {
  /** A go on PATH that logs each run, waits a little, and "builds" a fake 1.5.1 into GOBIN. */
  function fakeGo(env: NodeJS.ProcessEnv): { runs: () => number } {
    const dir = freshDir('imgdel-fake-go-');
    const built = join(dir, 'temporal-built');
    fakeGoBinary(built, 'v1.5.1');
    const runLog = join(dir, 'runs.log');
    writeFileSync(join(env.PATH ?? '', 'go'), `#!/bin/sh\necho run >> '${runLog}'\n/bin/sleep 1\n/bin/cp '${built}' "$GOBIN/temporal"\n`);
    chmodSync(join(env.PATH ?? '', 'go'), 0o755);
    return { runs: () => (existsSync(runLog) ? readFileSync(runLog, 'utf8').trim().split('\n').length : 0) };
  }

  function staleLock(env: NodeJS.ProcessEnv, owner: Record<string, unknown>): void {
    const cacheDir = join(env.XDG_CACHE_HOME ?? '', 'imgdel');
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, 'temporal-build.lock'), JSON.stringify({ startedAt: '2026-01-01T00:00:00.000Z', ...owner }));
  }

  it('takes over a lock whose pid now belongs to another process (a lock restored from a cache), instead of waiting for it', async () => {
    const env = isolatedEnv();
    const go = fakeGo(env);
    // pid 1 runs, but it is not the process that wrote the lock.
    staleLock(env, { pid: 1, processStart: 'not-the-same-process' });
    const said: string[] = [];
    expect(await ensureTemporalCli((line) => said.push(line), env)).toBe(cachedTemporalCliPath(env));
    expect(said.join('\n')).toContain('removing a stale build lock left by pid 1');
    expect(go.runs()).toBe(1);
  }, 30_000);

  it('lets one of several processes that find the same stale lock build, and the others wait for it', async () => {
    const env = isolatedEnv();
    const go = fakeGo(env);
    staleLock(env, { pid: 999_999 });
    const exits = await Promise.all(
      Array.from({ length: 4 }, () => ensureInChild(env, 'await ensureTemporalCli(() => undefined, process.env);')),
    );
    expect(exits).toEqual([0, 0, 0, 0]);
    expect(go.runs()).toBe(1);
  }, 60_000);
});

describe('go install environment', () => {
  it('builds into GOBIN, and keeps Go\'s caches under imgdel\'s cache directory when HOME is unset', () => {
    expect(goInstallEnv({ PATH: '/usr/bin' }, '/cache/imgdel/bin/.build-1', '/cache/imgdel')).toEqual({
      PATH: '/usr/bin',
      GOBIN: '/cache/imgdel/bin/.build-1',
      GOCACHE: '/cache/imgdel/go-build',
      GOPATH: '/cache/imgdel/go',
    });
  });

  it("leaves Go's own defaults alone when HOME (or the caches themselves) are set", () => {
    expect(goInstallEnv({ HOME: '/home/ci' }, '/b', '/c')).toEqual({ HOME: '/home/ci', GOBIN: '/b' });
    expect(goInstallEnv({ GOCACHE: '/gc', GOPATH: '/gp' }, '/b', '/c')).toEqual({ GOCACHE: '/gc', GOPATH: '/gp', GOBIN: '/b' });
    expect(goInstallEnv({ XDG_CACHE_HOME: '/xdg', HOME: '' }, '/b', '/c')).toEqual({ XDG_CACHE_HOME: '/xdg', HOME: '', GOBIN: '/b', GOPATH: '/c/go' });
  });
});
