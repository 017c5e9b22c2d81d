import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultUiUrl, resolveConnectionTarget, workflowUiLink } from '../../src/client/connection.js';
import { ConfigError, loadClientConfig, loadConfig } from '../../src/config.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs();

describe('Temporal UI links', () => {
  it('default to the gRPC port + 1000 on the same host', () => {
    expect(defaultUiUrl('localhost:7233')).toBe('http://localhost:8233');
    expect(defaultUiUrl('127.0.0.1:45000')).toBe('http://127.0.0.1:46000');
    expect(defaultUiUrl('my-ns.a1b2c.tmprl.cloud:7233')).toBe('https://cloud.temporal.io');
  });

  it('link to one workflow', () => {
    expect(workflowUiLink('http://localhost:8233/', 'default', 'delete-image-img-a1b2')).toBe(
      'http://localhost:8233/namespaces/default/workflows/delete-image-img-a1b2',
    );
  });
});

describe('resolveConnectionTarget', () => {
  it('reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TEMPORAL_UI_URL', () => {
    const target = resolveConnectionTarget(
      loadConfig({ TEMPORAL_ADDRESS: '10.0.0.5:7233', TEMPORAL_NAMESPACE: 'images', TEMPORAL_UI_URL: 'https://ui.example/' }),
    );
    expect(target).toMatchObject({ address: '10.0.0.5:7233', namespace: 'images', uiUrl: 'https://ui.example' });
    expect(target.connectionOptions.tls).toBeUndefined();
  });

  it('uses an envconfig profile when TEMPORAL_PROFILE is set', () => {
    const dir = tempDir('imgdel-profile-');
    const file = join(dir, 'temporal.toml');
    writeFileSync(file, '[profile.staging]\naddress = "staging.example:7233"\nnamespace = "imgdel-staging"\n');
    const target = resolveConnectionTarget(loadConfig({ TEMPORAL_PROFILE: 'staging', TEMPORAL_CONFIG_FILE: file }));
    expect(target.address).toBe('staging.example:7233');
    expect(target.namespace).toBe('imgdel-staging');
    expect(target.uiUrl).toBe('http://staging.example:8233');
  });

  it('lets explicit options win', () => {
    const target = resolveConnectionTarget(loadConfig({}), { address: '127.0.0.1:9999', namespace: 'x' });
    expect(target.address).toBe('127.0.0.1:9999');
    expect(target.connectionOptions.address).toBe('127.0.0.1:9999');
    expect(target.namespace).toBe('x');
  });

  it('makes the worker\'s checks: a certificate without its key is refused, not silently dropped', () => {
    const dir = tempDir('imgdel-tls-');
    const cert = join(dir, 'client.pem');
    writeFileSync(cert, 'CERT');
    const halfPair = () => resolveConnectionTarget(loadClientConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert }));
    expect(halfPair).toThrow(ConfigError);
    expect(halfPair).toThrow(/TEMPORAL_TLS_CLIENT_KEY_PATH/);
  });

  it('names the variable of a PEM file it cannot read', () => {
    const missing = () => resolveConnectionTarget(loadClientConfig({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(tmpdir(), 'imgdel-no-such-ca.pem') }));
    expect(missing).toThrow(ConfigError);
    expect(missing).toThrow(/TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
  });

  it('names TEMPORAL_PROFILE when the profile cannot be loaded', () => {
    const dir = tempDir('imgdel-profile-');
    const file = join(dir, 'temporal.toml');
    writeFileSync(file, '[profile.staging]\naddress = "staging.example:7233"\n');
    const bad = () => resolveConnectionTarget(loadClientConfig({ TEMPORAL_PROFILE: 'nope', TEMPORAL_CONFIG_FILE: file }));
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/TEMPORAL_PROFILE=nope/);
  });
});

