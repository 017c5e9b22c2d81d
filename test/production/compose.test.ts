/**
 * The production packaging, checked without a Docker engine: docker-compose validates the
 * compose file (with each env file), hadolint lints the Dockerfile when it is installed,
 * and the env files stay in step with src/config.ts and the emulator's defaults.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeStageEnv } from '../../bench/lib/production-runtime.js';
import { SHUTDOWN_FORCE_MARGIN_MS, envSchema, loadConfig } from '../../src/config.js';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/model.js';
import { PROJECT_ROOT } from '../worker/worker-process.js';

const projectFile = (path: string) => resolve(PROJECT_ROOT, path);
const compose = readFileSync(projectFile('docker-compose.yml'), 'utf8');

function runs(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.error === undefined && result.status === 0;
}

/** `docker-compose` (v1, Debian's package) or `docker compose` (v2 plugin), whichever works here. */
function composeCommand(): string[] | undefined {
  if (runs('docker-compose', ['version'])) return ['docker-compose'];
  if (runs('docker', ['compose', 'version'])) return ['docker', 'compose'];
  return undefined;
}

const composeCli = composeCommand();
if (!composeCli) {
  process.stderr.write(
    '[compose.test] docker-compose is not installed: skipping `docker-compose config` checks (apt-get install -y docker-compose)\n',
  );
}

function composeConfig(extra: string[]): { status: number | null; output: string } {
  const [command = 'docker-compose', ...prefix] = composeCli ?? [];
  const result = spawnSync(command, [...prefix, ...extra, 'config', '-q'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** KEY=value lines of an env file (comments and blank lines skipped). */
function envFile(path: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(projectFile(path), 'utf8').split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) values[match[1]] = match[2];
  }
  return values;
}

/** The text of one top-level service of docker-compose.yml (up to the next service). */
function serviceBlock(name: string): string {
  const start = compose.indexOf(`\n  ${name}:\n`);
  if (start < 0) throw new Error(`no service ${name} in docker-compose.yml`);
  const rest = compose.slice(start + 1);
  const next = rest.slice(1).search(/\n {2}[a-z][\w-]*:\n|\n[a-z]/);
  return next < 0 ? rest : rest.slice(0, next + 1);
}

describe.skipIf(!composeCli)('docker-compose config', () => {
  it('accepts the compose file as is', () => {
    const result = composeConfig([]);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('accepts it with the emulator env file and with the production example', () => {
    for (const file of ['deploy/emulator.env', 'deploy/production.env.example']) {
      const result = composeConfig(['--env-file', file]);
      expect(result.status, `${file}: ${result.output}`).toBe(0);
    }
  });
});

describe('docker-compose.yml', () => {
  it('lets the worker scale: no container name, no published port', () => {
    const worker = serviceBlock('worker');
    expect(worker).not.toMatch(/container_name:/);
    expect(worker).not.toMatch(/\n {4}ports:/);
    expect(compose).not.toMatch(/container_name:/);
  });

  it('orders start-up with health checks and one-shot jobs', () => {
    expect(serviceBlock('temporal')).toMatch(/temporal-schema:\n\s+condition: service_completed_successfully/);
    expect(serviceBlock('temporal-setup')).toMatch(/temporal:\n\s+condition: service_healthy/);
    expect(serviceBlock('worker')).toMatch(/temporal-setup:\n\s+condition: service_completed_successfully/);
    for (const service of ['postgresql', 'temporal', 'worker', 'emulator']) expect(serviceBlock(service)).toMatch(/healthcheck:/);
    expect(serviceBlock('worker')).toMatch(/\/healthz/);
    expect(serviceBlock('emulator')).toMatch(/profiles: \["emulator"\]/);
  });

  it('gives the worker container UI links that open on the host (the published UI port, not temporal:8233)', () => {
    const uiHostPort = /\$\{TEMPORAL_UI_HOST_PORT:-(\d+)\}:8080/.exec(serviceBlock('temporal-ui'))?.[1];
    expect(uiHostPort).toBeDefined();
    expect(serviceBlock('worker')).toContain(`TEMPORAL_UI_URL: \${TEMPORAL_UI_URL:-http://localhost:${uiHostPort ?? ''}}`);
  });

  it("passes every worker setting through to the worker, or says why not", () => {
    const notPassed: Record<string, string> = {
      // The worker talks to the compose stack's own Temporal server, in plain gRPC.
      TEMPORAL_API_KEY: 'own server',
      TEMPORAL_TLS: 'own server',
      TEMPORAL_TLS_CLIENT_CERT_PATH: 'own server',
      TEMPORAL_TLS_CLIENT_KEY_PATH: 'own server',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'own server',
      TEMPORAL_TLS_SERVER_NAME: 'own server',
      TEMPORAL_PROFILE: 'own server',
      TEMPORAL_CONFIG_FILE: 'own server',
      // Set by the image (Dockerfile ENV), with the ports the compose file exposes.
      IMGDEL_METRICS_PORT: 'image',
      IMGDEL_HEALTH_PORT: 'image',
      IMGDEL_OBSERVABILITY_HOST: 'image',
      IMGDEL_WORKFLOW_BUNDLE: 'image',
      NODE_ENV: 'image',
    };
    const worker = serviceBlock('worker');
    const missing = Object.keys(envSchema.shape).filter((name) => notPassed[name] === undefined && !worker.includes(`\n      ${name}:`));
    expect(missing).toEqual([]);
    expect(worker).toContain('\n      NODE_OPTIONS:');
  });

  it("keeps the image's own settings when the shell has none: no bare key for a variable the image sets", () => {
    // Compose removes a key given without a value from the container when the shell has no
    // value for it, the image's ENV included.
    const imageEnv = runtimeStageEnv(readFileSync(projectFile('Dockerfile'), 'utf8'));
    const worker = serviceBlock('worker');
    expect(imageEnv['NODE_OPTIONS']).toMatch(/--max-old-space-size=\d+/);
    const overridden = Object.entries(imageEnv).filter(([name]) => worker.includes(`\n      ${name}:`));
    expect(overridden.map(([name]) => name)).toEqual(expect.arrayContaining(['NODE_OPTIONS', 'IMGDEL_LOG_FORMAT']));
    for (const [name, value] of overridden) {
      expect(worker, name).toContain(`\n      ${name}: \${${name}:-${value}}\n`);
    }
  });

  it("gives the worker longer to stop than its own forced shutdown takes with compose's defaults", () => {
    const worker = serviceBlock('worker');
    const graceMs = Number(/IMGDEL_SHUTDOWN_GRACE_MS: \$\{IMGDEL_SHUTDOWN_GRACE_MS:-(\d+)\}/.exec(worker)?.[1]);
    const stopGraceSeconds = Number(/stop_grace_period: (\d+)s/.exec(worker)?.[1]);
    // Timeouts compose passes through only when set, so the worker's defaults apply.
    const forced = loadConfig({ IMGDEL_SHUTDOWN_GRACE_MS: String(graceMs) }).worker.shutdownForceTimeMs;
    expect(graceMs).toBeGreaterThan(0);
    expect(forced).toBe(graceMs + 5_000 + 15_000 + SHUTDOWN_FORCE_MARGIN_MS);
    expect(stopGraceSeconds * 1000).toBeGreaterThan(forced);
  });

  it('pins every image version', () => {
    const images = [...compose.matchAll(/(?:image: |&[\w-]+ )([\w./-]+:[\w.${}:-]+)/g)].map((match) => match[1]);
    expect(images.length).toBeGreaterThanOrEqual(5);
    for (const image of images) expect(image).not.toMatch(/:latest$/);
    expect(compose).toMatch(/temporalio\/server:\d+\.\d+\.\d+/);
    expect(compose).toMatch(/temporalio\/admin-tools:\d+\.\d+\.\d+/);
    expect(compose).toMatch(/temporalio\/ui:\d+\.\d+\.\d+/);
  });

  it('registers exactly the search attributes the workflow sets', () => {
    const script = readFileSync(projectFile('deploy/temporal/setup-namespace.sh'), 'utf8');
    const loop = /for name in ([\w ]+); do/.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
    expect(loop.sort()).toEqual(Object.keys(SEARCH_ATTRIBUTES).sort());
    expect(Object.values(SEARCH_ATTRIBUTES).every((type) => type === 'Keyword')).toBe(true);
  });
});

describe('deploy env files', () => {
  it('points the emulator setup at the emulator with its keys and account', () => {
    const env = envFile('deploy/emulator.env');
    const config = loadConfig(env);
    expect(env['COMPOSE_PROFILES']).toBe('emulator');
    expect(config.cloud.endpoint).toBe(`emulator:8787`);
    expect(config.cloud.protocol).toBe('HTTP');
    expect(config.cloud.accessKeyId).toBe(EMULATOR_DEFAULTS.accessKeyId);
    expect(config.cloud.accessKeySecret).toBe(EMULATOR_DEFAULTS.accessKeySecret);
    expect(config.cloud.accountId).toBe(EMULATOR_DEFAULTS.accountId);
  });

  it('has a production example whose settings are all valid configuration', () => {
    const env = envFile('deploy/production.env.example');
    expect(() => loadConfig(env)).not.toThrow();
    expect(Object.keys(env)).toContain('IMGDEL_ACCOUNT_ID');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(projectFile('Dockerfile'), 'utf8');

  it('builds the workflow bundle, installs production dependencies only, and runs unprivileged', () => {
    expect(dockerfile).toMatch(/RUN npm run build:bundle/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/COPY --from=build .*\/app\/dist/);
    expect(dockerfile).toMatch(/^USER (?!root|0\b)\S+/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
    expect(dockerfile).toMatch(/NODE_ENV=production/);
  });

  const hadolint = process.env['HADOLINT'] ?? 'hadolint';
  it.skipIf(!runs(hadolint, ['--version']))('passes hadolint', () => {
    const result = spawnSync(hadolint, ['Dockerfile'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });
});
