import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { clientConnectionOptions, nativeConnectionOptions } from '../../src/temporal-connection.js';
import { readinessTarget } from '../../src/dev/start.js';

const directory = mkdtempSync(join(tmpdir(), 'imgdel-connection-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

describe('Temporal connection options', () => {
  it('uses the plain address and namespace by default, without TLS', () => {
    const target = nativeConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'images' }));
    expect(target).toEqual({ connectionOptions: { address: 'temporal:7233' }, namespace: 'images' });
    expect(clientConnectionOptions(loadConfig({})).connectionOptions).toEqual({ address: 'localhost:7233' });
  });

  it('reads mTLS certificates and the server CA from files', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem', 'CERT'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key', 'KEY'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem', 'CA'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    const tls = nativeConnectionOptions(config).connectionOptions.tls;
    expect(tls).toMatchObject({ serverNameOverride: 'temporal.internal' });
    if (typeof tls !== 'object' || tls === null) throw new Error('expected a TLS object');
    expect(Buffer.from(tls.serverRootCACertificate ?? []).toString()).toBe('CA');
    expect(Buffer.from(tls.clientCertPair?.crt ?? []).toString()).toBe('CERT');
    expect(Buffer.from(tls.clientCertPair?.key ?? []).toString()).toBe('KEY');
    expect(clientConnectionOptions(config).connectionOptions.tls).toEqual(tls);
  });

  it('npm start checks the worker on an external server with the API key and TLS the worker uses, on its own server plainly', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'key-123456', TEMPORAL_TLS: 'true' });
    const external = readinessTarget({ address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct', external: true }, config);
    expect(external).toEqual(clientConnectionOptions(config));
    expect(external.connectionOptions).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', apiKey: 'key-123456' });
    expect(external.connectionOptions.tls).toBeDefined();
    const local = readinessTarget({ address: '127.0.0.1:7233', namespace: 'default', external: false }, config);
    expect(local).toEqual({ connectionOptions: { address: '127.0.0.1:7233' }, namespace: 'default' });
  });

  it('keeps a server name given with an API key (TLS by default, its name overridden)', () => {
    const config = loadConfig({ TEMPORAL_API_KEY: 'key-123456', TEMPORAL_TLS_SERVER_NAME: 'ns.acct.tmprl.cloud' });
    expect(nativeConnectionOptions(config).connectionOptions.tls).toMatchObject({ serverNameOverride: 'ns.acct.tmprl.cloud' });
    expect(clientConnectionOptions(config).connectionOptions.tls).toMatchObject({ serverNameOverride: 'ns.acct.tmprl.cloud' });
  });

  it('names the variable when a certificate is missing or half configured', () => {
    const missing = loadConfig({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(directory, 'nope.pem') });
    expect(() => nativeConnectionOptions(missing)).toThrow(ConfigError);
    expect(() => nativeConnectionOptions(missing)).toThrow(/TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
    const half = loadConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: file('only-cert.pem', 'CERT') });
    expect(() => nativeConnectionOptions(half)).toThrow(/TEMPORAL_TLS_CLIENT_KEY_PATH/);
  });

  it('passes a Temporal Cloud API key on both connections', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233', TEMPORAL_API_KEY: 'key-123456', TEMPORAL_NAMESPACE: 'ns.acct' });
    expect(nativeConnectionOptions(config).connectionOptions.apiKey).toBe('key-123456');
    expect(clientConnectionOptions(config)).toEqual({
      connectionOptions: { address: 'eu-west-1.aws.api.temporal.io:7233', apiKey: 'key-123456' },
      namespace: 'ns.acct',
    });
  });

  it('takes address, namespace and API key from an envconfig profile when TEMPORAL_PROFILE is set', () => {
    const configFile = file(
      'temporal.toml',
      ['[profile.prod]', 'address = "prod.tmprl.cloud:7233"', 'namespace = "prod-ns"', 'api_key = "profile-key-123"', ''].join('\n'),
    );
    const config = loadConfig({ TEMPORAL_PROFILE: 'prod', TEMPORAL_CONFIG_FILE: configFile });
    const native = nativeConnectionOptions(config);
    expect(native.namespace).toBe('prod-ns');
    expect(native.connectionOptions.address).toBe('prod.tmprl.cloud:7233');
    expect(native.connectionOptions.apiKey).toBe('profile-key-123');
    expect(clientConnectionOptions(config).connectionOptions).toMatchObject({ address: 'prod.tmprl.cloud:7233', apiKey: 'profile-key-123' });
  });

  it('takes the connection from the profile alone: unchecked process variables do not override it, and what it leaves out comes from the checked config', () => {
    const configFile = file('partial.toml', ['[profile.prod]', 'address = "prod.example.com:7233"', 'namespace = "prod-ns"', '', '[profile.bare]', 'api_key = "bare-key-123"', ''].join('\n'));
    // envconfig would read these from the process itself, blank ones included.
    vi.stubEnv('TEMPORAL_ADDRESS', '');
    vi.stubEnv('TEMPORAL_NAMESPACE', 'other-ns');
    vi.stubEnv('TEMPORAL_API_KEY', 'stray-key');
    try {
      const prod = nativeConnectionOptions(loadConfig({ TEMPORAL_PROFILE: 'prod', TEMPORAL_CONFIG_FILE: configFile }));
      expect(prod.namespace).toBe('prod-ns');
      expect(prod.connectionOptions.address).toBe('prod.example.com:7233');
      expect(prod.connectionOptions.apiKey).toBeUndefined();
      const bare = loadConfig({ TEMPORAL_PROFILE: 'bare', TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_ADDRESS: 'fallback.example.com:7233', TEMPORAL_NAMESPACE: 'fallback-ns' });
      for (const target of [nativeConnectionOptions(bare), clientConnectionOptions(bare)]) {
        expect(target.namespace).toBe('fallback-ns');
        expect(target.connectionOptions).toMatchObject({ address: 'fallback.example.com:7233', apiKey: 'bare-key-123' });
      }
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('explains a profile file that is not TOML without quoting its lines, which may hold the API key', () => {
    // An unterminated string: the TOML parser's message quotes the lines around it.
    const configFile = file('broken.toml', ['[profile.prod]', 'address = "prod.tmprl.cloud:7233"', 'api_key = "broken-secret-key-123', 'namespace = "prod-ns"', ''].join('\n'));
    const config = loadConfig({ TEMPORAL_PROFILE: 'prod', TEMPORAL_CONFIG_FILE: configFile });
    let message = '';
    try {
      nativeConnectionOptions(config);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message).toMatch(/^TEMPORAL_PROFILE=prod: cannot load the Temporal client profile \(Invalid TOML document: .+, at line 3, column \d+\)$/);
    expect(message).not.toContain('broken-secret-key-123');
    expect(message).not.toContain('\n');
    expect(() => clientConnectionOptions(config)).toThrow(/at line 3/);
  });

  it('explains an unknown profile', () => {
    const configFile = file('other.toml', '[profile.dev]\naddress = "localhost:7233"\n');
    expect(() => nativeConnectionOptions(loadConfig({ TEMPORAL_PROFILE: 'missing', TEMPORAL_CONFIG_FILE: configFile }))).toThrow(
      /TEMPORAL_PROFILE=missing/,
    );
  });
});
