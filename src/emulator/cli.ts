/**
 * The emulator's command line, shared by `npm run emulator` (main.ts) and the
 * `imgdel emulator` subcommand.
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { EMULATOR_DEFAULTS } from './defaults.js';
import { faultInputSchema, type FaultInput } from './faults.js';
import { startEmulator } from './server.js';
import { exitCodeForSignal, signalCounter } from '../signal-counter.js';
import { nodeErrorCode } from '../node-error.js';

const cliOptionsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  state: z.string().min(1).optional(),
  faults: z.string().min(1).optional(),
  seed: z.literal('demo').optional(),
  accessKeyId: z.string().min(1),
  accessKeySecret: z.string().min(1),
  accountId: z.string().regex(/^\d+$/, 'the account id is digits'),
  latencyMs: z.coerce.number().int().min(0),
});

/** What `--help` adds: the admin API, which tests and operators drive the emulator with. */
const ADMIN_API_HELP = `
Admin API (JSON, unsigned), under /_emulator/ on the same port:
  POST   seed          add images, templates and instances: { images, templates, instances }
  GET    state         everything the emulator holds
  POST   reset         forget state, faults, limits and the calls log
  POST   faults        make matching calls fail or wait, e.g.
                       { "action": "DeleteImage", "regionId": "cn-hangzhou", "code": "Throttling.User", "times": 3 }
                       (code: a cloud error code, or malformed | empty | http500-html; latencyMs; probability;
                       imageId; templateId; times -1 = always)
  GET    faults        the faults in force;  DELETE faults[/<id>]  removes them
  POST   limits        rate-limit an action: { "action": "DeleteImage", "perSecond": 20 }  (GET/DELETE limits)
  POST   paging        cap every list page: { "maxPageSize": 2 }  (null lifts the cap)
  GET    calls         the API calls received (DELETE calls clears the log)
  GET    health        { "ok": true }
--faults takes a JSON array of what POST faults takes.`;

export function emulatorCommand(): Command {
  return new Command('emulator')
    .description('Run the local App Streaming / ECD emulator (signed RPC API + /_emulator/ admin API)')
    .option('--port <port>', 'port to listen on (0 = any free port)', String(EMULATOR_DEFAULTS.port))
    .option('--host <host>', 'address to bind', EMULATOR_DEFAULTS.host)
    .option('--state <file>', 'keep the state in this JSON file (loaded at start, saved after each change)')
    .option('--faults <file>', 'start with these faults in force: a JSON array of what POST /_emulator/faults takes')
    .addOption(new Option('--seed <name>', 'seed an empty state with demo data').choices(['demo']))
    .option('--access-key-id <id>', 'the access key id requests must be signed with', EMULATOR_DEFAULTS.accessKeyId)
    .option('--access-key-secret <secret>', 'the access key secret requests must be signed with', EMULATOR_DEFAULTS.accessKeySecret)
    .option('--account-id <id>', 'the account that owns the demo images and may delete images', EMULATOR_DEFAULTS.accountId)
    .option('--latency-ms <ms>', 'delay added to every API call', '0')
    .addHelpText('after', ADMIN_API_HELP)
    .action(async (raw: unknown) => {
      const parsed = cliOptionsSchema.safeParse(raw);
      if (!parsed.success) {
        process.stderr.write(`emulator: invalid options\n${z.prettifyError(parsed.error)}\n`);
        process.exitCode = 2;
        return;
      }
      const options = parsed.data;
      const faults = options.faults === undefined ? [] : await readFaultsFile(options.faults);
      if (faults === undefined) {
        process.exitCode = 2;
        return;
      }
      const emulator = await startEmulator({
        port: options.port,
        host: options.host,
        accessKeyId: options.accessKeyId,
        accessKeySecret: options.accessKeySecret,
        accountId: options.accountId,
        latencyMs: options.latencyMs,
        faults,
        ...(options.state === undefined ? {} : { statePath: options.state }),
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        log: (line) => process.stderr.write(`${line}\n`),
      }).catch((error: unknown) => {
        throw nodeErrorCode(error) === 'EADDRINUSE'
          ? new Error(`${options.host}:${options.port} is in use (another emulator, or npm start's?); choose another port with --port, or --port 0 for any free one`)
          : error;
      });
      const countSignal = signalCounter();
      const stop = (signal: NodeJS.Signals): void => {
        const received = countSignal();
        // The terminal's Ctrl-C that npm relays a moment later is that Ctrl-C, not a second one.
        if (received === 'relayed') return;
        if (received === 'again') {
          process.stderr.write(`emulator: ${signal} again, exiting now\n`);
          process.exit(exitCodeForSignal(signal));
        }
        process.stderr.write(`emulator: ${signal}, closing\n`);
        emulator.close().then(
          () => process.exit(0),
          (error: unknown) => {
            process.stderr.write(`emulator: close failed: ${String(error)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // Only once a signal closes it cleanly: whoever waits for this line may signal at once.
      process.stdout.write(`emulator listening on ${emulator.url}\n`);
    });
}

/** The faults of a --faults file, or undefined after saying on stderr why they cannot be read. */
async function readFaultsFile(path: string): Promise<FaultInput[] | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    process.stderr.write(`emulator: cannot read the faults file ${path}: ${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    process.stderr.write(`emulator: the faults file ${path} is not JSON\n`);
    return undefined;
  }
  const parsed = z.array(faultInputSchema).safeParse(json);
  if (!parsed.success) {
    process.stderr.write(`emulator: the faults file ${path} is not a list of faults\n${z.prettifyError(parsed.error)}\n`);
    return undefined;
  }
  return parsed.data;
}
