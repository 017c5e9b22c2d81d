/**
 * `npm run emulator`: runs the emulator command line. Other commands reuse it via
 * `emulatorCommand()` from cli.ts (importing this file would start the emulator).
 */
import { ignoreClosedOutput } from '../closed-output.js';
import { emulatorCommand } from './cli.js';

ignoreClosedOutput(process.stdout);
ignoreClosedOutput(process.stderr);
emulatorCommand()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`emulator: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
