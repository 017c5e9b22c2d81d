/**
 * The npm start pidfile as the data directory's lock: claimed atomically, a running owner refuses,
 * a stale one (dead owner, reused pid, someone else's start.js) is taken over, and only processes
 * positively identified as this stack's are stopped. Linux only (/proc start times).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  claimStack,
  createExclusive,
  groupIsAlive,
  processIsAlive,
  processStartTime,
  readStackPidfile,
  removeStackPidfile,
  statState,
} from '../../src/dev/stack-pidfile.js';
import type { StackIdentity, StackPidfile } from '../../src/dev/stack-pidfile.js';

const children: ChildProcess[] = [];
/** The directories setup() made, removed after each test so no run leaves any behind in the temp directory. */
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // Only once the children are killed: none of them still writes into a directory being removed.
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A long sleeper in a process group of its own, whose command line carries `args`. */
function sleeper(args: string[]): number {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', ...args], { detached: true, stdio: 'ignore' });
  children.push(child);
  if (child.pid === undefined) throw new Error('spawn failed');
  return child.pid;
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(result.stdout.trim());
}

function setup(): { dir: string; path: string; identity: StackIdentity; lines: string[]; options: Parameters<typeof claimStack>[2] } {
  const dir = mkdtempSync(join(tmpdir(), 'imgdel-pidfile-'));
  dirs.push(dir);
  const lines: string[] = [];
  const identity: StackIdentity = {
    repoRoot: dir,
    startEntries: [join(dir, 'src', 'dev', 'start.ts')],
    workerEntry: join(dir, 'src', 'worker.ts'),
    dbFilename: join(dir, 'data', 'temporal.sqlite'),
  };
  return { dir, path: join(dir, 'npm-start.pid'), identity, lines, options: { log: (line) => lines.push(line), workerGraceMs: 2_000, serverGraceMs: 2_000, shownPath: 'npm-start.pid' } };
}

/**
 * A zombie in a process group of its own, that stays one: sh starts it (setsid: its own group) and
 * then becomes a sleep that never reaps it.
 */
async function zombie(): Promise<number> {
  const parent = spawn('sh', ['-c', 'setsid sleep 0 & echo $!; exec sleep 60'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(parent);
  const pid = await new Promise<number>((done) => parent.stdout?.setEncoding('utf8').once('data', (chunk: string) => done(Number(chunk.trim()))));
  for (let poll = 0; poll < 100 && statState(readFileSync(`/proc/${pid}/stat`, 'utf8')) !== 'Z'; poll++) await waitMs(20);
  return pid;
}

const write = (path: string, content: StackPidfile): void => writeFileSync(path, JSON.stringify(content));
const waitMs = (ms: number) => new Promise((done) => setTimeout(done, ms));
const linux = process.platform === 'linux';

describe.runIf(linux)('claimStack', () => {
  it('creates the pidfile naming this process and its start time', async () => {
    const { path, identity, options } = setup();
    const mine = await claimStack(path, identity, options);
    expect(mine).toEqual({ owner: process.pid, ownerStart: processStartTime(process.pid) });
    expect(readStackPidfile(path)).toEqual(mine);
  });

  it('refuses while the recorded owner runs (same pid, same start time)', async () => {
    const { path, identity, options } = setup();
    const owner = sleeper([]);
    await waitMs(50);
    write(path, { owner, ownerStart: processStartTime(owner) });
    await expect(claimStack(path, identity, options)).rejects.toThrow(`another npm start (pid ${owner}) is running`);
  });

  it('takes over a pidfile whose pid was reused (other start time), naming our parent, or another project’s start.js', async () => {
    const { dir, path, identity, options } = setup();
    const other = sleeper([join(dir, 'elsewhere', 'start.js')]);
    await waitMs(50);
    for (const stale of [
      { owner: other, ownerStart: '1' },
      { owner: process.ppid },
      { owner: other },
    ]) {
      write(path, stale);
      expect(await claimStack(path, identity, options)).toMatchObject({ owner: process.pid });
    }
  });

  it('stops a leftover server only when it runs on this data directory’s database, and never a group it cannot identify', async () => {
    const { path, identity, options, lines } = setup();
    const foreignServer = sleeper(['server', 'start-dev', '--db-filename', '/elsewhere/temporal.sqlite']);
    const foreignWorker = sleeper(['/elsewhere/worker.js']);
    const ourServer = sleeper(['server', 'start-dev', '--db-filename', identity.dbFilename]);
    await waitMs(50);
    write(path, { owner: deadPid(), server: { processGroup: foreignServer, port: 7233 }, worker: { processGroup: foreignWorker } });
    await claimStack(path, identity, options);
    expect(() => process.kill(foreignServer, 0)).not.toThrow();
    expect(() => process.kill(foreignWorker, 0)).not.toThrow();

    write(path, { owner: deadPid(), server: { processGroup: ourServer, port: 7233, startTime: processStartTime(ourServer) } });
    await claimStack(path, identity, options);
    await waitMs(100);
    expect(() => process.kill(-ourServer, 0)).toThrow();
    expect(lines.join('\n')).toContain(`stopping the Temporal dev server (port 7233), pid ${ourServer}`);
  });

  it('a second claim from another process loses while the first holds the file', async () => {
    const { path, identity } = setup();
    const script = `
      import { claimStack } from ${JSON.stringify(new URL('../../src/dev/stack-pidfile.ts', import.meta.url).href)};
      const identity = ${JSON.stringify(identity)};
      claimStack(${JSON.stringify(path)}, identity, { log: () => {}, workerGraceMs: 1, serverGraceMs: 1, shownPath: 'x' })
        .then(() => { console.log('claimed'); setTimeout(() => {}, 60_000); }, (e) => { console.log('refused: ' + e.message); process.exit(0); });`;
    const scriptPath = join(identity.repoRoot, 'claim.mts');
    writeFileSync(scriptPath, script);
    const runOne = (): { child: ChildProcess; said: Promise<string> } => {
      const child = spawn(process.execPath, ['--import', 'tsx', scriptPath], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      const said = new Promise<string>((done) => child.stdout?.setEncoding('utf8').once('data', (chunk: string) => done(chunk.trim())));
      return { child, said };
    };
    const [a, b] = [runOne(), runOne()];
    const answers = (await Promise.all([a.said, b.said])).sort();
    expect(answers[0]).toBe('claimed');
    expect(answers[1]).toMatch(/^refused: another npm start \(pid \d+\) is running/);
  }, 20_000);
});

describe.runIf(linux)('zombies are dead', () => {
  it('reads the state after the command name, whatever the name holds', () => {
    expect(statState('4242 (node) S 1 4242 4242 0 -1')).toBe('S');
    expect(statState('4242 (a) b (c)) Z 1 4242 4242 0 -1')).toBe('Z');
    expect(statState('garbage')).toBeUndefined();
  });

  it('a zombie process, and a group of zombies only, are not alive', async () => {
    const pid = await zombie();
    // What made them look alive: signal 0 reaches a zombie and its group.
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(() => process.kill(-pid, 0)).not.toThrow();
    expect(processIsAlive(pid)).toBe(false);
    expect(groupIsAlive(pid)).toBe(false);
    expect(processIsAlive(process.pid)).toBe(true);
    expect(groupIsAlive(sleeper([]))).toBe(true);
  });

  it('takes over a pidfile whose owner is a zombie (SIGKILLed, never reaped)', async () => {
    const { path, identity, options } = setup();
    const owner = await zombie();
    write(path, { owner, ownerStart: processStartTime(owner) });
    expect(await claimStack(path, identity, options)).toMatchObject({ owner: process.pid });
  });
});

describe('createExclusive without hard links', () => {
  const noLinks = (code: string) => () => {
    throw Object.assign(new Error(`${code}: link`), { code });
  };

  for (const code of ['EPERM', 'ENOTSUP', 'ENOSYS', 'EXDEV']) {
    it(`creates the file exclusively when link fails with ${code}`, () => {
      const { path } = setup();
      expect(createExclusive(path, { owner: process.pid }, noLinks(code))).toBe(true);
      expect(readStackPidfile(path)).toEqual({ owner: process.pid });
      expect(createExclusive(path, { owner: 1 }, noLinks(code))).toBe(false);
      expect(readStackPidfile(path)).toEqual({ owner: process.pid });
    });
  }

  it('other link errors are still thrown', () => {
    const { path } = setup();
    expect(() => createExclusive(path, { owner: process.pid }, noLinks('EIO'))).toThrow('EIO');
  });
});

describe.runIf(linux)('claimStack and a file being written', () => {
  it('re-reads an empty pidfile before judging it: a claim written meanwhile refuses', async () => {
    const { path, identity, options } = setup();
    const owner = sleeper([]);
    await waitMs(50);
    writeFileSync(path, '');
    setTimeout(() => write(path, { owner, ownerStart: processStartTime(owner) }), 60);
    await expect(claimStack(path, identity, options)).rejects.toThrow(`another npm start (pid ${owner}) is running`);
  });
});

describe('removeStackPidfile', () => {
  it('leaves a pidfile that names another npm start', () => {
    const { path } = setup();
    write(path, { owner: 999_999, ownerStart: '5' });
    removeStackPidfile(path, { owner: process.pid });
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path, 'utf8')).toContain('999999');
    write(path, { owner: process.pid });
    removeStackPidfile(path, { owner: process.pid });
    expect(existsSync(path)).toBe(false);
  });
});
