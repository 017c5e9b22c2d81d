/**
 * TEMPORAL_TLS_* end to end: the worker's connection (NativeConnection, Core's TLS) and the
 * client's (Connection, grpc-js) reach the test server through a proxy that terminates mutual
 * TLS, with a CA, server and client certificates made here by openssl (which ships with the CI
 * machine). The dev server itself speaks plain gRPC, so the proxy is what makes TLS real.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { clientConnectionOptions, nativeConnectionOptions } from '../../src/temporal-connection.js';
import { testNamespace, testTemporalAddress } from '../helpers/temporal.js';

let directory: string;
let proxy: tls.Server;
let proxyAddress: string;
/** Handshakes the proxy refused, with the reason. */
const refusals: string[] = [];

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: directory, stdio: 'ignore' });
}

/** `name`.key and `name`.pem: a certificate the test CA signed, with the given extensions. */
async function issue(name: string, extensions: string): Promise<void> {
  await writeFile(join(directory, `${name}.ext`), extensions);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
    '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'imgdel-temporal-tls-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=imgdel test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', 'ca.key', '-out', 'ca.pem']);
  await issue('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await issue('client', 'extendedKeyUsage=clientAuth\n');

  const [host = '127.0.0.1', port = '7233'] = testTemporalAddress().split(':');
  proxy = tls.createServer(
    {
      key: await readFile(join(directory, 'server.key')),
      cert: await readFile(join(directory, 'server.pem')),
      ca: await readFile(join(directory, 'ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const upstream = net.connect(Number(port), host);
      socket.pipe(upstream).pipe(socket);
      const close = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close);
      upstream.on('error', close);
    },
  );
  proxy.on('tlsClientError', (error) => refusals.push(error.message));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyAddress = `localhost:${(proxy.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await rm(directory, { recursive: true, force: true });
});

function tlsConfig(overrides: Record<string, string> = {}) {
  return loadConfig({
    TEMPORAL_ADDRESS: proxyAddress,
    TEMPORAL_NAMESPACE: testNamespace(),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(directory, 'ca.pem'),
    TEMPORAL_TLS_CLIENT_CERT_PATH: join(directory, 'client.pem'),
    TEMPORAL_TLS_CLIENT_KEY_PATH: join(directory, 'client.key'),
    ...overrides,
  });
}

describe('Temporal over mutual TLS', () => {
  it('the worker connection verifies the server, presents its certificate, and talks to Temporal', async () => {
    const connection = await NativeConnection.connect(nativeConnectionOptions(tlsConfig()).connectionOptions);
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toMatch(/\d/);
    } finally {
      await connection.close();
    }
  });

  it('the client connection does the same', async () => {
    const target = clientConnectionOptions(tlsConfig());
    const connection = await Connection.connect(target.connectionOptions);
    try {
      const namespace = await connection.workflowService.describeNamespace({ namespace: target.namespace });
      expect(namespace.namespaceInfo?.name).toBe(testNamespace());
    } finally {
      await connection.close();
    }
  });

  it('fails to connect without the client certificate, or when it does not trust the server', async () => {
    const withoutClientCertificate = tlsConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '' });
    expect(nativeConnectionOptions(withoutClientCertificate).connectionOptions.tls).not.toHaveProperty('clientCertPair');
    const refusedBefore = refusals.length;
    await expect(
      Connection.connect({ ...clientConnectionOptions(withoutClientCertificate).connectionOptions, connectTimeout: 3_000 }),
    ).rejects.toThrow();
    // The proxy refused the handshake for want of a client certificate.
    expect(refusals.slice(refusedBefore).join('\n')).toMatch(/peer did not return a certificate/);

    // A certificate that did not sign the server's as the trusted CA: the worker refuses the server.
    const wrongCa = tlsConfig({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(directory, 'client.pem') });
    const failure = await NativeConnection.connect(nativeConnectionOptions(wrongCa).connectionOptions).then(
      () => new Error('connected although the server is not trusted'),
      (error: unknown) => error,
    );
    expect(String(failure)).toMatch(/InvalidCertificate\(UnknownIssuer\)/);
  });
});
