/**
 * Runs src/worker.ts as a child process, the way a container runs it
 * (`node --import tsx src/worker.ts`), and reads its JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const WORKER_ENTRY = resolve(PROJECT_ROOT, 'src/worker.ts');

export interface LogLine {
  time?: string;
  level?: string;
  message?: string;
  [field: string]: unknown;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Every parsed JSON log line so far (stdout). */
  readonly logs: LogLine[];
  /** Everything written, raw (stdout then stderr interleaved as received). */
  output(): string;
  /** Everything written to stdout, raw. */
  stdout(): string;
  /** Resolves with the first log line matching; rejects if the process exits first or the wait is abandoned. */
  waitForLog(matches: (line: LogLine) => boolean, abandonAfterMs?: number): Promise<LogLine>;
  /** Resolves with the exit code (or 128+n for a signal) once the process has exited. */
  exited: Promise<number>;
  /** Sends SIGKILL if it still runs; for cleanup. */
  kill(): Promise<void>;
}

/** The parent's environment without anything that configures imgdel or Temporal, plus `env`. */
export function workerEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(IMGDEL_|TEMPORAL_|ALIBABA_CLOUD_|NODE_ENV$|NODE_OPTIONS$)/.test(key)) continue;
    clean[key] = value;
  }
  return { ...clean, ...env };
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function startWorkerProcess(env: Record<string, string>, args: string[] = []): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY, ...args], {
    cwd: PROJECT_ROOT,
    env: workerEnvironment(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let raw = '';
  let rawStdout = '';
  let pending = '';
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    rawStdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) logs.push({ ...parsed });
      } catch {
        // Not one of ours (a library printing to stdout); kept in raw output only.
      }
    }
    notify();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
  });
  let exitCode: number | undefined;
  const exited = new Promise<number>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 1) : 1);
      resolveExit(exitCode);
      notify();
    });
  });

  return {
    child,
    logs,
    output: () => raw,
    stdout: () => rawStdout,
    exited,
    waitForLog(matches, abandonAfterMs = 90_000) {
      return new Promise<LogLine>((resolveWait, rejectWait) => {
        const check = () => {
          const found = logs.find(matches);
          if (found) {
            finish();
            resolveWait(found);
          } else if (exitCode !== undefined) {
            finish();
            rejectWait(new Error(`the worker exited (${exitCode}) before the expected log line; output:\n${raw}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          rejectWait(new Error(`no matching log line after ${abandonAfterMs} ms; output:\n${raw}`));
        }, abandonAfterMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async kill() {
      if (exitCode === undefined) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolvePort, rejectPort) => {
    const server = createServer();
    server.once('error', rejectPort);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : rejectPort(new Error('no port'))));
    });
  });
}

/** The image every end-to-end worker test deletes, as the emulator's admin API seeds it. */
export function seedImage(imageId: string, accountId: string) {
  return {
    imageId,
    imageType: 'User',
    aliUid: accountId,
    status: 'AVAILABLE',
    productType: 'CloudDesktop',
    regions: ['cn-shanghai', 'cn-hangzhou'],
  } as const;
}

/** POST /_emulator/seed with one image; throws unless the emulator accepts it. */
export async function seedEmulator(emulatorUrl: string, images: readonly ReturnType<typeof seedImage>[]): Promise<void> {
  const response = await fetch(`${emulatorUrl}/_emulator/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ images }),
  });
  if (!response.ok) throw new Error(`seeding the emulator failed: ${response.status} ${await response.text()}`);
}

/** Image ids the emulator still has (GET /_emulator/state). */
export async function emulatorImageIds(emulatorUrl: string): Promise<string[]> {
  const response = await fetch(`${emulatorUrl}/_emulator/state`);
  const body: unknown = await response.json();
  if (typeof body !== 'object' || body === null || !('images' in body) || !Array.isArray(body.images)) {
    throw new Error('unexpected /_emulator/state answer');
  }
  return body.images.flatMap((image: unknown) =>
    typeof image === 'object' && image !== null && 'imageId' in image && typeof image.imageId === 'string' ? [image.imageId] : [],
  );
}
