/**
 * The emulator as a child process, so a measurement of the client side does not share
 * its event loop with the server it measures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface EmulatorProcess {
  url: string;
  /** host:port, what the adapter's endpoint wants. */
  endpoint: string;
  child: ChildProcess;
}

/** Starts `src/emulator/main.ts --port 0 …extraArgs` and waits for its start line. */
export async function startEmulatorProcess(extraArgs: string[] = []): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/main.ts', '--port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout ?? process.stdin });
  const line = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${String(code)}`)));
  });
  const url = /^emulator listening on (http:\/\/\S+)$/.exec(line)?.[1];
  if (url === undefined) throw new Error(`unexpected emulator start line: ${line}`);
  return { url, endpoint: new URL(url).host, child };
}
