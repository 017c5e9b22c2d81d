import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config.js';
import { PROJECT_ROOT } from '../worker/worker-process.js';

function productionSection(): string {
  const readme = readFileSync(resolve(PROJECT_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Running in production\n');
  if (start < 0) throw new Error('README.md has no "Running in production" section');
  // The section runs to the next second-level heading (or the end of the file).
  const next = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, next < 0 ? undefined : next);
}

describe('README "Running in production"', () => {
  it('documents every configuration variable in the reference table', () => {
    const section = productionSection();
    const undocumented = Object.keys(envSchema.shape).filter((variable) => !section.includes(`| \`${variable}\` |`));
    expect(undocumented).toEqual([]);
  });

  it('shows the compose commands and the RAM policy file', () => {
    const section = productionSection();
    expect(section).toContain('docker compose --env-file deploy/emulator.env up -d --build');
    expect(section).toContain('--scale worker=3');
    expect(section).toContain('deploy/ram-policy.json');
  });
});
