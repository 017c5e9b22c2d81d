/**
 * Whether a module is the file node was asked to run (`node file`, `npm run …`), not one imported
 * by another: modules that are also commands start only then. Compared through real paths, since
 * node resolves symbolic links in a module's URL but not in process.argv[1].
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** `isEntryPoint(import.meta.url)`: true when this module is the process's entry. */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && realPath(entry) === realPath(fileURLToPath(moduleUrl));
}
