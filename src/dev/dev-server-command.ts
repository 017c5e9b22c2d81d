/**
 * `npm run dev-server -- [--port P] [--ui-port U] [--db-filename F] [--headless]`:
 * runs a Temporal development server until SIGINT/SIGTERM.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { startDevServer } from './dev-server.js';

const portSchema = z.coerce
  .number({ error: 'expected a port number' })
  .int({ error: 'expected a whole port number' })
  .min(1, { error: 'expected a port from 1 to 65535' })
  .max(65535, { error: 'expected a port from 1 to 65535' });

const optionFlags: Record<string, string> = { port: '--port', uiPort: '--ui-port', dbFilename: '--db-filename', headless: '--headless' };

const optionsSchema = z.object({
  port: portSchema.optional(),
  uiPort: portSchema.optional(),
  dbFilename: z.string().trim().min(1).optional(),
  headless: z.boolean().optional(),
});

async function main(argv: string[]): Promise<void> {
  const program = new Command('dev-server')
    .description('Run a Temporal development server on 127.0.0.1 with imgdel\'s search attributes, until Ctrl-C')
    .option('--port <port>', 'frontend gRPC port (default: a free one)')
    .option('--ui-port <port>', 'web UI port (default: a free one)')
    .option('--db-filename <file>', 'keep workflows in this SQLite file across restarts')
    .option('--headless', 'no web UI')
    .showHelpAfterError()
    .parse(argv);

  const parsed = optionsSchema.safeParse(program.opts());
  if (!parsed.success) {
    program.error(
      parsed.error.issues.map((issue) => `${optionFlags[String(issue.path[0])] ?? String(issue.path[0])}: ${issue.message}`).join('\n'),
    );
  }
  const options = parsed.data;
  if (process.env.TEMPORAL_ADDRESS) {
    process.stderr.write(`note: TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS} is set; starting a separate dev server anyway\n`);
  }

  const server = await startDevServer({ ...options, ignoreTemporalAddress: true });
  process.stdout.write(`temporal listening on ${server.address}\n`);
  if (server.uiUrl !== undefined) process.stdout.write(`temporal UI at ${server.uiUrl}\n`);
  process.stdout.write(`use it with: export TEMPORAL_ADDRESS=${server.address}\n`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping the temporal dev server\n`);
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`could not stop the dev server cleanly: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  const howItEnded = await server.exited;
  if (!stopping) {
    process.stderr.write(`the temporal dev server stopped unexpectedly: ${howItEnded ?? 'unknown'}\n${server.output()}\n`);
    process.exit(1);
  }
}

main(process.argv).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
