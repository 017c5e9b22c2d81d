/**
 * Starts a Temporal development server (`temporal server start-dev`) for local runs and tests:
 * on free ports bound to 127.0.0.1, quiet, with imgdel's search attributes registered, and
 * resolved only once the frontend answers. With TEMPORAL_ADDRESS set it starts nothing and
 * describes that server instead.
 */
import { spawn } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { envSchema, withoutBlankValues } from '../config.js';
import { SEARCH_ATTRIBUTES } from '../workflows/model.js';
import { ensureTemporalCli, type Log } from './temporal-cli.js';
import { findFreePort, hasExited, listensOnLoopbackPort, OutputTail, signalProcessGroup, sleep, stopChild, waitForExit } from './process.js';

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** Persist workflows in this SQLite file; without it everything is lost when the server stops. */
  dbFilename?: string;
  /** No web UI. */
  headless?: boolean;
  /** Dynamic config values (`--dynamic-config-value key=json`), over the CLI's dev-server defaults. */
  dynamicConfig?: Readonly<Record<string, string | number | boolean>>;
  log?: Log;
  /** Start a server even when TEMPORAL_ADDRESS is set (the dev-server command does). */
  ignoreTemporalAddress?: boolean;
  /** How long the frontend may take to answer after the process started. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
  /**
   * Run the server in its own process group, so a terminal's Ctrl-C reaches only this process,
   * which then stops things in its own order (npm start: the worker first, while the server still
   * answers, then the server). The caller must then stop() it on its signals; an exit hook kills
   * the group if this process exits without doing so.
   */
  ownProcessGroup?: boolean;
  /** Called as soon as a server process is spawned (again after a lost port race), before it answers. */
  onSpawn?: (pid: number, port: number) => void;
}

export interface RunningDevServer {
  /** host:port of the frontend, e.g. 127.0.0.1:7233 */
  address: string;
  uiUrl?: string;
  namespace: string;
  /** True when TEMPORAL_ADDRESS named the server and nothing was started. */
  external: boolean;
  stop(): Promise<void>;
  /** The last lines the server printed (empty for an external server). */
  output(): string;
  /** Settles with how the process ended, whether stop() ended it or not (absent for an external server). */
  exited?: Promise<string>;
  /** The server process (absent for an external server). */
  pid?: number;
}

const HOST = '127.0.0.1';
const DEFAULT_NAMESPACE = 'default';
const DEFAULT_START_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_GRACE_MS = 5_000;

const logToStderr: Log = (line) => process.stderr.write(`[dev-server] ${line}\n`);

const externalServerEnvSchema = envSchema.pick({ TEMPORAL_NAMESPACE: true, TEMPORAL_UI_URL: true }).extend({
  TEMPORAL_ADDRESS: envSchema.shape.TEMPORAL_ADDRESS.optional(),
});

/** The server TEMPORAL_ADDRESS names, if it is set. */
export function externalServerFromEnv(env: NodeJS.ProcessEnv = process.env): RunningDevServer | undefined {
  const raw = env.TEMPORAL_ADDRESS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = externalServerEnvSchema.safeParse(withoutBlankValues(env));
  if (!parsed.success) {
    throw new Error(`TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE are invalid: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  const { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, TEMPORAL_UI_URL: uiUrl } = parsed.data;
  if (address === undefined) return undefined;
  return {
    address,
    ...(uiUrl === undefined ? {} : { uiUrl }),
    namespace,
    external: true,
    stop: () => Promise.resolve(),
    output: () => '',
  };
}

/** `--search-attribute ImageId=Keyword …` for every attribute imgdel uses. */
export function searchAttributeArgs(): string[] {
  return Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<RunningDevServer> {
  const log = opts.log ?? logToStderr;
  if (!opts.ignoreTemporalAddress) {
    const external = externalServerFromEnv();
    if (external !== undefined) {
      log(`TEMPORAL_ADDRESS is set: using the Temporal server at ${external.address}; starting none`);
      return external;
    }
  }

  const binary = await ensureTemporalCli(log);
  const weChoosePorts = opts.port === undefined && (opts.headless === true || opts.uiPort === undefined);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(binary, opts, log);
    } catch (error) {
      // A free port can be taken by someone else between our probe and the server's bind.
      const portRace = error instanceof DevServerStartError && error.portInUse;
      if (!weChoosePorts || !portRace || attempt >= PORT_RACE_ATTEMPTS) throw error;
      log(`a port was taken before the dev server could bind it; trying other ports (attempt ${attempt + 1})`);
    }
  }
}

const PORT_RACE_ATTEMPTS = 3;

class DevServerStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
    this.name = 'DevServerStartError';
  }
}

async function launch(binary: string, opts: DevServerOptions, log: Log): Promise<RunningDevServer> {
  const port = opts.port ?? (await findFreePort(HOST));
  const uiPort = opts.headless ? undefined : (opts.uiPort ?? (await findFreePort(HOST)));
  const address = `${HOST}:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    HOST,
    '--port',
    String(port),
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...(opts.dbFilename === undefined ? [] : ['--db-filename', opts.dbFilename]),
    ...searchAttributeArgs(),
    ...Object.entries(opts.dynamicConfig ?? {}).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
    '--log-level',
    'warn',
  ];

  const startedAt = performance.now();
  const ownProcessGroup = opts.ownProcessGroup === true;
  const child = spawn(binary, args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: ownProcessGroup });
  const output = new OutputTail(300);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  // Never leave a server behind when this process exits without calling stop().
  const killOnExit = () => {
    if (ownProcessGroup && child.pid !== undefined) signalProcessGroup(child.pid, 'SIGKILL');
    else if (!hasExited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopRequested = false;
  const stop = async () => {
    if (!stopRequested && hasExited(child)) {
      // Whatever needed the server while stopping (a draining worker) found it gone.
      log(`the Temporal dev server had already stopped before stop() (${describeExit(child.exitCode, child.signalCode)})`);
    }
    stopRequested = true;
    process.removeListener('exit', killOnExit);
    await stopChild(child, opts.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
    // Anything the server left in its own process group goes with it.
    if (ownProcessGroup && child.pid !== undefined) signalProcessGroup(child.pid, 'SIGKILL');
  };

  // Only now, with killOnExit registered: onSpawn (npm start records the server in its pidfile)
  // may throw, and a server it did not record must not be left running.
  try {
    if (child.pid !== undefined) opts.onSpawn?.(child.pid, port);
  } catch (error) {
    stopRequested = true;
    await stop();
    throw error;
  }

  try {
    await waitUntilAnswering(
      address,
      DEFAULT_NAMESPACE,
      opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      () => (spawnError !== undefined ? `could not run ${binary}: ${spawnError.message}` : hasExited(child) ? describeExit(child.exitCode, child.signalCode) : undefined),
      // Another server that won a race for the port would answer too; only our own process counts.
      // A child that stays alive this long did bind (a lost race ends it at once), so a wrapper
      // script whose server is a grandchild is accepted then.
      () => child.pid === undefined || listensOnLoopbackPort(child.pid, port) !== false || performance.now() - startedAt > 5_000,
    );
  } catch (error) {
    // The failure below says how the server ended; stop() need not log that it had.
    stopRequested = true;
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    const printed = output.text();
    throw new DevServerStartError(
      `the Temporal dev server did not start: ${reason}\n--- ${binary} ${args.join(' ')} printed:\n${printed}`,
      /address already in use/i.test(printed),
    );
  }

  const uiUrl = uiPort === undefined ? undefined : `http://${HOST}:${uiPort}`;
  log(
    `temporal dev server answering on ${address} after ${Math.round(performance.now() - startedAt)} ms (pid ${String(child.pid)})` +
      (uiUrl === undefined ? '' : `, UI ${uiUrl}`),
  );
  return {
    address,
    ...(uiUrl === undefined ? {} : { uiUrl }),
    namespace: DEFAULT_NAMESPACE,
    external: false,
    stop,
    output: () => output.text(),
    exited: waitForExit(child).then(() => describeExit(child.exitCode, child.signalCode)),
    ...(child.pid === undefined ? {} : { pid: child.pid }),
  };
}

/** The server must not pick up a client profile or address meant for imgdel itself. */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPORAL_')));
}

function describeExit(exitCode: number | null, signal: NodeJS.Signals | null): string {
  return signal === null ? `it exited with code ${String(exitCode)}` : `it was killed by ${signal}`;
}

/**
 * Polls until the frontend answers and every imgdel search attribute is registered (the CLI
 * registers them just after the frontend comes up). `failed` reports a dead process early.
 */
async function waitUntilAnswering(
  address: string,
  namespace: string,
  timeoutMs: number,
  failed: () => string | undefined,
  ownsPort: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  let connection: Connection | undefined;
  try {
    for (;;) {
      const failure = failed();
      if (failure !== undefined) throw new Error(failure);
      if (Date.now() > deadline) throw new Error(`no answer from ${address} within ${timeoutMs} ms (last: ${lastProblem})`);
      try {
        if (!ownsPort()) throw new Error(`the server process does not listen on ${address} yet`);
        connection ??= await Connection.connect({ address, connectTimeout: 2_000 });
        const missing = await missingSearchAttributes(connection, namespace);
        if (missing.length === 0) return;
        lastProblem = `search attributes not registered yet: ${missing.join(', ')}`;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      await sleep(100);
    }
  } finally {
    await connection?.close();
  }
}

async function missingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  return connection.withDeadline(Date.now() + 2_000, async () => {
    await connection.workflowService.getSystemInfo({});
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    return Object.keys(SEARCH_ATTRIBUTES).filter((name) => customAttributes?.[name] === undefined);
  });
}
