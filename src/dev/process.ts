/**
 * Small helpers for the development tools: free ports, executables on PATH,
 * running a command to completion, and stopping a child process cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * A port nobody listens on right now. Picked at random below the kernel's ephemeral range
 * (32768+ on Linux), where other processes' port-0 listeners and outgoing connections cannot
 * take it between this probe and our server's bind; port 0 (the OS picks) is the fallback.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(host, candidate)) return candidate;
  }
  return listenOnce(host, 0);
}

async function canListen(host: string, port: number): Promise<boolean> {
  try {
    await listenOnce(host, port);
    return true;
  } catch {
    return false;
  }
}

/** Listens on host:port, closes again, and answers the port that was bound. */
function listenOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => (bound === undefined ? reject(new Error('could not read the port the OS assigned')) : resolve(bound)));
    });
  });
}

/**
 * Whether process `pid` itself listens on 127.0.0.1:port (Linux: /proc). Answers undefined where
 * that cannot be told, so callers treat it as "probably".
 */
export function listensOnLoopbackPort(pid: number, port: number): boolean | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  const localAddress = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const listeningInodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // fields: sl local_address rem_address st … inode (index 9); 0A is LISTEN
    if (fields[1] === localAddress && fields[3] === '0A' && fields[9] !== undefined) listeningInodes.add(fields[9]);
  }
  if (listeningInodes.size === 0) return false;
  try {
    const fdDir = `/proc/${pid}/fd`;
    return readdirSync(fdDir).some((fd) => {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${fdDir}/${fd}`));
        return match?.[1] !== undefined && listeningInodes.has(match[1]);
      } catch {
        return false;
      }
    });
  } catch {
    return undefined;
  }
}

export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` on PATH, like `which`. */
export function findOnPath(name: string, pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const directory of pathVariable.split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output; rejects only when it cannot be started. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr }));
  });
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves once the child has exited (at once if it already has). */
export function waitForExit(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL when it is still running after the grace period; resolves once it has exited. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (hasExited(child)) return;
  const exited = waitForExit(child);
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace-over'>((resolve) => {
    timer = setTimeout(() => resolve('grace-over'), graceMs);
  });
  const outcome = await Promise.race([exited.then(() => 'exited' as const), graceOver]);
  clearTimeout(timer);
  if (outcome === 'grace-over') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Sends `signal` to every process in the group `groupLeaderPid` leads (a child spawned `detached`). */
export function signalProcessGroup(groupLeaderPid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-groupLeaderPid, signal);
  } catch {
    // Already gone.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Keeps the last `limit` lines of a stream of text chunks, for showing when something fails. */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly limit = 200) {}

  push(chunk: string): void {
    const pieces = (this.partial + chunk).split('\n');
    this.partial = pieces.pop() ?? '';
    for (const line of pieces) {
      this.lines.push(line);
      if (this.lines.length > this.limit) this.lines.shift();
    }
  }

  text(): string {
    return [...this.lines, ...(this.partial === '' ? [] : [this.partial])].join('\n');
  }
}
