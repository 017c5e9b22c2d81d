/**
 * Environment → zod → typed configuration. Parsed once per process (config()),
 * or explicitly from a given environment (loadConfig(env)) in tests and tools.
 * Secrets stay in the credential chain: this module never prints them.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { CLOUD_ACTIONS, isCloudAction } from './cloud/actions.js';

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** A whole number from min to max, refused in the words given (zod's own say "expected number, received NaN"). */
const wholeNumberIn = (min: number, max: number, words: string) =>
  z.coerce.number({ error: words }).int({ error: words }).min(min, { error: words }).max(max, { error: words });

/** Numbers in words a person reads, as wholeNumberIn. */
const positiveInt = (fallback: number) => {
  const notWhole = `must be a whole number, e.g. ${fallback}`;
  return z.coerce.number({ error: notWhole }).int({ error: notWhole }).positive({ error: 'must be greater than 0' }).default(fallback);
};

/** A port to listen on, where an empty variable means "not set"; 0 (any free port) would be logged as :0. */
const optionalPort = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  wholeNumberIn(1, 65535, 'must be a port number from 1 to 65535').optional(),
);

/**
 * `host:port`, the port one a connection can use (1–65535): 99999 would pass the pattern, then fail
 * every call. Also the benchmark's --temporal-address.
 */
export const hostPort = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { error: 'expected host:port, e.g. 127.0.0.1:7233', abort: true })
  .refine((value) => {
    const port = Number(value.slice(value.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'expected host:port with a port from 1 to 65535, e.g. 127.0.0.1:7233');

/** "DeleteImage=19,ListImage=40" → { DeleteImage: 19, ListImage: 40 } */
const rateLimitList = z
  .string()
  .trim()
  .default('')
  .transform((text, ctx) => {
    const limits: Record<string, number> = {};
    for (const entry of text.split(',').map((part) => part.trim()).filter(Boolean)) {
      const match = /^([A-Za-z]+)=(\d+(?:\.\d+)?)$/.exec(entry);
      if (!match?.[1] || !match[2] || Number(match[2]) <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not Action=perSecond (e.g. DeleteImage=19)` });
        return z.NEVER;
      }
      if (!isCloudAction(match[1])) {
        ctx.addIssue({ code: 'custom', message: `${match[1]} is not an action imgdel calls (${CLOUD_ACTIONS.join(', ')})` });
        return z.NEVER;
      }
      limits[match[1]] = Number(match[2]);
    }
    return limits;
  });

/** Text that is not empty once trimmed (a namespace, a task queue, a region); also the client's options of the same name. */
export const nonEmptyText = z.string({ error: 'must be text' }).trim().min(1, { error: 'must not be empty' });

export const envSchema = z.object({
  TEMPORAL_ADDRESS: hostPort.default('localhost:7233'),
  TEMPORAL_NAMESPACE: nonEmptyText.default('default'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: z.enum(['true', 'false', '']).optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: optionalString,
  TEMPORAL_TLS_CLIENT_KEY_PATH: optionalString,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  /** An @temporalio/envconfig profile; when set, it supplies the connection instead of the variables above. */
  TEMPORAL_PROFILE: optionalString,
  TEMPORAL_CONFIG_FILE: optionalString,
  TEMPORAL_UI_URL: optionalString,
  IMGDEL_TASK_QUEUE: nonEmptyText.default('image-deletion'),

  ALIBABA_CLOUD_ACCESS_KEY_ID: optionalString,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: optionalString,
  ALIBABA_CLOUD_SECURITY_TOKEN: optionalString,
  IMGDEL_CLOUD_ENDPOINT: hostPort.optional(),
  IMGDEL_CLOUD_PROTOCOL: z.enum(['HTTP', 'HTTPS']).optional(),
  IMGDEL_REGION: nonEmptyText.default('cn-shanghai'),
  IMGDEL_ACCOUNT_ID: optionalString.pipe(z.string().regex(/^\d+$/, 'expected the numeric account id').optional()),
  IMGDEL_CLOUD_CONNECT_TIMEOUT_MS: positiveInt(5_000),
  IMGDEL_CLOUD_READ_TIMEOUT_MS: positiveInt(15_000),
  /** Default per-action request rate of one worker process (requests per second). */
  IMGDEL_CLOUD_RATE: z.coerce
    .number({ error: 'must be a number of requests per second, e.g. 18' })
    .positive({ error: 'must be greater than 0 (requests per second)' })
    .default(18),
  /** Per-action overrides, e.g. "DeleteImage=19,ListImage=40". */
  IMGDEL_CLOUD_RATE_LIMITS: rateLimitList,
  /**
   * How many images' desktop-group checks may share one DescribeDesktopGroups call (ImageId.N);
   * 1 turns the sharing off (each image asked alone, with no wait).
   */
  IMGDEL_USAGE_CHECK_BATCH: wholeNumberIn(1, 50, 'must be a whole number from 1 to 50').default(10),

  IMGDEL_MAX_CONCURRENT_ACTIVITIES: positiveInt(100),
  IMGDEL_MAX_CONCURRENT_WORKFLOW_TASKS: positiveInt(40),
  /**
   * Sticky cache (workflows kept in memory between tasks). It lives in the workflow thread's
   * V8 heap, which the image bounds (NODE_OPTIONS): keep the two in step. 500 covers the
   * benchmark's 500 deletions in flight; a smaller cache costs replays (at 50: half the throughput).
   */
  IMGDEL_MAX_CACHED_WORKFLOWS: positiveInt(500),
  IMGDEL_SHUTDOWN_GRACE_MS: positiveInt(10_000),
  IMGDEL_METRICS_PORT: optionalPort,
  IMGDEL_HEALTH_PORT: optionalPort,
  /**
   * Interface the metrics and health endpoints listen on; 0.0.0.0 in a container. An IP address:
   * the Temporal Runtime's metrics server takes no host name.
   */
  IMGDEL_OBSERVABILITY_HOST: z
    .string()
    .trim()
    .refine((host) => isIP(host) !== 0, 'expected an IP address, e.g. 127.0.0.1, or 0.0.0.0 for every interface')
    .default('127.0.0.1'),
  IMGDEL_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  IMGDEL_LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  /** Path to a prebuilt workflow bundle; production mode uses dist/workflow-bundle.js when unset. */
  IMGDEL_WORKFLOW_BUNDLE: optionalString,
  NODE_ENV: optionalString,
});

export type Env = z.infer<typeof envSchema>;

/**
 * The variables a client needs (the CLI, imgdel/client, `npm start`'s exports): the Temporal
 * connection and the task queue. A client never fails on a worker-only variable it does not use.
 */
export const clientEnvSchema = envSchema.pick({
  TEMPORAL_ADDRESS: true,
  TEMPORAL_NAMESPACE: true,
  TEMPORAL_API_KEY: true,
  TEMPORAL_TLS: true,
  TEMPORAL_TLS_CLIENT_CERT_PATH: true,
  TEMPORAL_TLS_CLIENT_KEY_PATH: true,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: true,
  TEMPORAL_TLS_SERVER_NAME: true,
  TEMPORAL_PROFILE: true,
  TEMPORAL_CONFIG_FILE: true,
  TEMPORAL_UI_URL: true,
  IMGDEL_TASK_QUEUE: true,
});

type Environment = Record<string, string | undefined>;

/**
 * An empty (or blank) variable means "not set", for every variable alike: `VAR=` lines in an env
 * file (deploy/production.env.example) and compose's pass-through then get the default instead of
 * failing validation.
 */
export function withoutBlankValues(env: Environment): Environment {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value === undefined || value.trim() !== ''));
}

/** Parses the environment with one of the schemas above; a problem becomes a ConfigError naming the variable. */
export function parseEnvironment<Schema extends z.ZodType>(schema: Schema, env: Environment): z.output<Schema> {
  const parsed = schema.safeParse(withoutBlankValues(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration in the environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: {
    clientCertPath?: string;
    clientKeyPath?: string;
    serverCaCertPath?: string;
    serverName?: string;
  };
  profile?: string;
  configFile?: string;
  uiUrl?: string;
}

export interface CloudConfig {
  /** Set: both products go to this host:port (the emulator, or a proxy). */
  endpoint?: string;
  protocol: 'HTTP' | 'HTTPS';
  region: string;
  accountId?: string;
  /** Only from the environment; otherwise the default credential chain decides. */
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  defaultRatePerSecond: number;
  ratePerSecondByAction: Record<string, number>;
  /** Images whose desktop-group checks may share one DescribeDesktopGroups call; 1: none share. */
  usageCheckBatch: number;
}

/** What a forced shutdown adds to the grace time and one cloud call's timeouts (see shutdownForceTimeMs). */
export const SHUTDOWN_FORCE_MARGIN_MS = 5_000;

export interface WorkerTuning {
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentWorkflowTaskExecutions: number;
  maxCachedWorkflows: number;
  shutdownGraceTimeMs: number;
  /**
   * When a shutdown stops waiting and the worker exits anyway: the grace time, then the longest
   * one cloud call takes (connect + read timeout), and a margin. Activities hear of the shutdown
   * when the grace time ends, and their cloud calls are then abandoned on the wire (CallOptions
   * in src/cloud/port.ts); what does not hear it (the credential chain's own requests) is bounded
   * here, so a stuck activity cannot hold the worker until the container is killed.
   */
  shutdownForceTimeMs: number;
  metricsPort?: number;
  healthPort?: number;
  observabilityHost: string;
  logLevel: Env['IMGDEL_LOG_LEVEL'];
  logFormat: Env['IMGDEL_LOG_FORMAT'];
  workflowBundlePath?: string;
  production: boolean;
}

export interface Config {
  temporal: TemporalConnectionConfig;
  taskQueue: string;
  cloud: CloudConfig;
  worker: WorkerTuning;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** What a client needs: where Temporal is and which task queue the workers poll. */
export interface ClientConfig {
  temporal: TemporalConnectionConfig;
  taskQueue: string;
}

const TLS_SETTINGS = [
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;

function temporalFromEnv(e: z.output<typeof clientEnvSchema>): TemporalConnectionConfig {
  // Any TLS setting alone asks for TLS too (half an mTLS pair is then refused, naming the
  // variable), so a server name given with an API key is not dropped.
  const tlsSettings = TLS_SETTINGS.filter((name) => e[name] !== undefined);
  if (e.TEMPORAL_TLS === 'false' && tlsSettings.length > 0) {
    throw new ConfigError(
      `invalid configuration in the environment: TEMPORAL_TLS: false, but ${tlsSettings.join(', ')} ${tlsSettings.length === 1 ? 'asks' : 'ask'} for TLS; unset one or the other`,
    );
  }
  if (e.TEMPORAL_TLS === 'false' && e.TEMPORAL_API_KEY) {
    // The SDK sends an API key only over TLS and turns TLS on for it: "false" would be silently ignored.
    throw new ConfigError(
      'invalid configuration in the environment: TEMPORAL_TLS: false, but TEMPORAL_API_KEY is sent only over TLS; unset one or the other',
    );
  }
  const wantsTls = e.TEMPORAL_TLS === 'true' || tlsSettings.length > 0;
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
    ...(wantsTls
      ? {
          tls: {
            clientCertPath: e.TEMPORAL_TLS_CLIENT_CERT_PATH,
            clientKeyPath: e.TEMPORAL_TLS_CLIENT_KEY_PATH,
            serverCaCertPath: e.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
            serverName: e.TEMPORAL_TLS_SERVER_NAME,
          },
        }
      : {}),
    ...(e.TEMPORAL_PROFILE ? { profile: e.TEMPORAL_PROFILE } : {}),
    ...(e.TEMPORAL_CONFIG_FILE ? { configFile: e.TEMPORAL_CONFIG_FILE } : {}),
    ...(e.TEMPORAL_UI_URL ? { uiUrl: e.TEMPORAL_UI_URL } : {}),
  };
}

/** The client subset of the environment (clientEnvSchema); worker-only variables are not read. */
export function loadClientConfig(env: Environment = process.env): ClientConfig {
  const e = parseEnvironment(clientEnvSchema, env);
  return { temporal: temporalFromEnv(e), taskQueue: e.IMGDEL_TASK_QUEUE };
}

/** WorkerTuning.shutdownForceTimeMs: the grace time, one cloud call's timeouts and the margin. */
function shutdownForceTimeMs(e: Env): number {
  return e.IMGDEL_SHUTDOWN_GRACE_MS + e.IMGDEL_CLOUD_CONNECT_TIMEOUT_MS + e.IMGDEL_CLOUD_READ_TIMEOUT_MS + SHUTDOWN_FORCE_MARGIN_MS;
}

/** The longest a Node.js timer waits (2^31 - 1 ms, about 24.8 days); a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** What no single variable shows: settings that contradict one another. */
function conflictingSettings(e: Env): string[] {
  const problems: string[] = [];
  // The SDK's force timer waits this long after a SIGTERM (and the cloud calls' timers wait parts
  // of it): past what a timer can wait, it would fire at once and end the worker with exit 1.
  const forceTimeMs = shutdownForceTimeMs(e);
  if (forceTimeMs > MAX_TIMER_MS) {
    problems.push(
      `IMGDEL_SHUTDOWN_GRACE_MS: with IMGDEL_CLOUD_CONNECT_TIMEOUT_MS, IMGDEL_CLOUD_READ_TIMEOUT_MS and ${SHUTDOWN_FORCE_MARGIN_MS} ms more, a shutdown may wait ${forceTimeMs} ms, more than a timer can wait (${MAX_TIMER_MS} ms, about 24 days); lower one of them`,
    );
  }
  if (e.IMGDEL_METRICS_PORT !== undefined && e.IMGDEL_METRICS_PORT === e.IMGDEL_HEALTH_PORT) {
    problems.push(`IMGDEL_HEALTH_PORT: must differ from IMGDEL_METRICS_PORT (both ${e.IMGDEL_METRICS_PORT}); each endpoint needs a port of its own`);
  }
  // Half a key would not be used: the credential chain would sign as whoever else it finds.
  if ((e.ALIBABA_CLOUD_ACCESS_KEY_ID === undefined) !== (e.ALIBABA_CLOUD_ACCESS_KEY_SECRET === undefined)) {
    const missing = e.ALIBABA_CLOUD_ACCESS_KEY_ID === undefined ? 'ALIBABA_CLOUD_ACCESS_KEY_ID' : 'ALIBABA_CLOUD_ACCESS_KEY_SECRET';
    problems.push(`${missing}: missing; an access key needs both ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or neither, for the default credential chain)`);
  }
  if (e.ALIBABA_CLOUD_SECURITY_TOKEN !== undefined && e.ALIBABA_CLOUD_ACCESS_KEY_ID === undefined) {
    problems.push('ALIBABA_CLOUD_SECURITY_TOKEN: an STS token is used only with the access key it was issued with (ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET)');
  }
  return problems;
}

/** The worker's configuration: every variable of envSchema. */
export function loadConfig(env: Environment = process.env): Config {
  const e = parseEnvironment(envSchema, env);
  const conflicts = conflictingSettings(e);
  if (conflicts.length > 0) throw new ConfigError(`invalid configuration in the environment: ${conflicts.join('; ')}`);
  return {
    temporal: temporalFromEnv(e),
    taskQueue: e.IMGDEL_TASK_QUEUE,
    cloud: {
      ...(e.IMGDEL_CLOUD_ENDPOINT ? { endpoint: e.IMGDEL_CLOUD_ENDPOINT } : {}),
      protocol: e.IMGDEL_CLOUD_PROTOCOL ?? (e.IMGDEL_CLOUD_ENDPOINT ? 'HTTP' : 'HTTPS'),
      region: e.IMGDEL_REGION,
      ...(e.IMGDEL_ACCOUNT_ID ? { accountId: e.IMGDEL_ACCOUNT_ID } : {}),
      ...(e.ALIBABA_CLOUD_ACCESS_KEY_ID ? { accessKeyId: e.ALIBABA_CLOUD_ACCESS_KEY_ID } : {}),
      ...(e.ALIBABA_CLOUD_ACCESS_KEY_SECRET ? { accessKeySecret: e.ALIBABA_CLOUD_ACCESS_KEY_SECRET } : {}),
      ...(e.ALIBABA_CLOUD_SECURITY_TOKEN ? { securityToken: e.ALIBABA_CLOUD_SECURITY_TOKEN } : {}),
      connectTimeoutMs: e.IMGDEL_CLOUD_CONNECT_TIMEOUT_MS,
      readTimeoutMs: e.IMGDEL_CLOUD_READ_TIMEOUT_MS,
      defaultRatePerSecond: e.IMGDEL_CLOUD_RATE,
      ratePerSecondByAction: e.IMGDEL_CLOUD_RATE_LIMITS,
      usageCheckBatch: e.IMGDEL_USAGE_CHECK_BATCH,
    },
    worker: {
      maxConcurrentActivityTaskExecutions: e.IMGDEL_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: e.IMGDEL_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxCachedWorkflows: e.IMGDEL_MAX_CACHED_WORKFLOWS,
      shutdownGraceTimeMs: e.IMGDEL_SHUTDOWN_GRACE_MS,
      shutdownForceTimeMs: shutdownForceTimeMs(e),
      ...(e.IMGDEL_METRICS_PORT === undefined ? {} : { metricsPort: e.IMGDEL_METRICS_PORT }),
      ...(e.IMGDEL_HEALTH_PORT === undefined ? {} : { healthPort: e.IMGDEL_HEALTH_PORT }),
      observabilityHost: e.IMGDEL_OBSERVABILITY_HOST,
      logLevel: e.IMGDEL_LOG_LEVEL,
      logFormat: e.IMGDEL_LOG_FORMAT,
      ...(e.IMGDEL_WORKFLOW_BUNDLE ? { workflowBundlePath: e.IMGDEL_WORKFLOW_BUNDLE } : {}),
      production: e.NODE_ENV === 'production',
    },
  };
}

let cached: Config | undefined;

/** The process's configuration, parsed on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
