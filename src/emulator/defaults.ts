/**
 * The emulator's embedded defaults, shared by `npm start`, tests and the benchmark.
 * These are not secrets: they only open the local emulator.
 */
export const EMULATOR_DEFAULTS = {
  host: '127.0.0.1',
  port: 8787,
  accessKeyId: 'LTAIimgdelEmulatorKey',
  accessKeySecret: 'imgdel-emulator-secret-not-for-production',
  /** The account that owns the demo images (and that the worker deletes for). */
  accountId: '1234567890123456',
  /** Another account, owner of the "someone else's image" demo case. */
  otherAccountId: '9999999999999999',
} as const;

/** The environment that points a worker (or any config) at an emulator with the defaults above. */
export function emulatorCloudEnv(endpoint: string): Record<string, string> {
  return {
    IMGDEL_CLOUD_ENDPOINT: endpoint,
    ALIBABA_CLOUD_ACCESS_KEY_ID: EMULATOR_DEFAULTS.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: EMULATOR_DEFAULTS.accessKeySecret,
    IMGDEL_ACCOUNT_ID: EMULATOR_DEFAULTS.accountId,
  };
}
