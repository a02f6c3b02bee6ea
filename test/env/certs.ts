// Certificates and the admin kubeconfig of a test control plane.
//
//   generateCertificates(dir, extraNames?)
//                              writes ca.{crt,key}, apiserver.{crt,key} (127.0.0.1, localhost and extraNames),
//                              admin.{crt,key} (system:masters) and the service-account key pair sa.{key,pub}
//                              with openssl; returns the paths.
//   adminKubeconfig({...})     the kubeconfig text (pure).
//
// One CA signs both the serving and the client certificates. Everything lives for 7 days: a test run, or an
// environment that someone keeps up for a while.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { findExecutable, TestEnvError } from './process.ts';

export interface CertificatePaths {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
const DAYS = '7';

/** Names the API server's certificate carries besides 127.0.0.1 and localhost. */
export interface ServerNames {
  ips: readonly string[];
  dns: readonly string[];
}

export function generateCertificates(dir: string, extraNames?: ServerNames): CertificatePaths {
  if (findExecutable('openssl') === null) {
    throw new TestEnvError(
      'openssl is not installed: install it with `sudo apt-get install openssl` and run again.',
    );
  }
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new TestEnvError(`openssl ${args[0] ?? ''} failed: ${stderr.trim()}`);
    }
  };
  const sign = (name: string, subject: string, extensions: string[]) => {
    openssl('req', ...EC_KEY, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subject);
    writeFileSync(p(`${name}.ext`), extensions.join('\n') + '\n');
    openssl(
      'x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-out', p(`${name}.crt`), '-days', DAYS, '-extfile', p(`${name}.ext`),
    ); // prettier-ignore
  };

  openssl(
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    DAYS,
    '-subj',
    '/CN=warren-test-ca',
  );
  const names = [
    'IP:127.0.0.1',
    'DNS:localhost',
    ...(extraNames?.ips ?? []).map((ip) => `IP:${ip}`),
    ...(extraNames?.dns ?? []).map((name) => `DNS:${name}`),
  ];
  sign('apiserver', '/CN=localhost', [
    `subjectAltName=${names.join(',')}`,
    'extendedKeyUsage=serverAuth',
    'keyUsage=digitalSignature,keyEncipherment',
  ]);
  sign('admin', '/O=system:masters/CN=admin', [
    'extendedKeyUsage=clientAuth',
    'keyUsage=digitalSignature,keyEncipherment',
  ]);
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('sa.key'));
  openssl('pkey', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub'));
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPublicKey: p('sa.pub'),
  };
}

export function adminKubeconfig(opts: {
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}): string {
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'warren-test',
        cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caPem) },
      },
    ],
    users: [
      {
        name: 'warren-test-admin',
        user: { 'client-certificate-data': b64(opts.certPem), 'client-key-data': b64(opts.keyPem) },
      },
    ],
    contexts: [{ name: 'warren-test', context: { cluster: 'warren-test', user: 'warren-test-admin' } }],
    'current-context': 'warren-test',
  });
}

export function writeAdminKubeconfig(certs: CertificatePaths, server: string, path: string): string {
  const text = adminKubeconfig({
    server,
    caPem: readFileSync(certs.caCert, 'utf8'),
    certPem: readFileSync(certs.adminCert, 'utf8'),
    keyPem: readFileSync(certs.adminKey, 'utf8'),
  });
  writeFileSync(path, text, { mode: 0o600 });
  return text;
}
