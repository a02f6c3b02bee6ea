// X.509 material for RabbitmqCluster TLS: a per-cluster CA, server certificates it signs, and the checks the
// reconciler runs on certificates it finds in Secrets (its own or the user's). Certificates are built and parsed with
// @peculiar/x509 on Node's WebCrypto; private keys are read with node:crypto, which accepts every PEM form a user may
// bring (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"). Nothing here logs or returns key material beyond
// the PEM it was asked to create.
import { createHash, createPrivateKey, createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto;
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** Backdating notBefore tolerates clocks a little behind the operator's. */
const clockSkewMs = 60_000;

export const hourMs = 3_600_000;

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  certificate: string;
  privateKey: string;
}

/** What a reconciler needs to know about a certificate, without its key. */
export interface CertificateInfo {
  serialNumber: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  isCa: boolean;
  /** SHA-256 of the DER encoding: stable across PEM reformatting. */
  fingerprint: string;
}

/** A certificate or key that cannot be used; `code` says which check failed, the message never quotes key bytes. */
export class CertificateError extends Error {
  readonly code: 'InvalidCertificate' | 'InvalidKey';
  constructor(code: CertificateError['code'], message: string) {
    super(message);
    this.name = 'CertificateError';
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Names

/**
 * DNS names a cluster's server certificate must cover: the client Service `<name>` and the headless Service
 * `<name>-nodes` in every form a client may resolve, and every pod behind the headless Service
 * (`<name>-server-<i>.<name>-nodes.<ns>...`) through a wildcard, so scaling up needs no new certificate.
 */
export function serverDnsNames(name: string, namespace: string, clusterDomain = 'cluster.local'): string[] {
  const names: string[] = [];
  for (const service of [name, `${name}-nodes`]) {
    names.push(service, `${service}.${namespace}`, `${service}.${namespace}.svc`);
    names.push(`${service}.${namespace}.svc.${clusterDomain}`);
  }
  const headless = `${name}-nodes.${namespace}`;
  names.push(`*.${headless}`, `*.${headless}.svc`, `*.${headless}.svc.${clusterDomain}`);
  return names;
}

/** Names in `wanted` that the certificate's DNS SANs do not cover (exact, case-insensitive; wildcards as written). */
export function missingDnsNames(certificate: CertificateInfo, wanted: readonly string[]): string[] {
  const have = new Set(certificate.dnsNames.map((name) => name.toLowerCase()));
  return wanted.filter((name) => !have.has(name.toLowerCase()));
}

// ---------------------------------------------------------------------------------------------------------------
// Issuing

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** Validity starting now (backdated a minute for clock skew) and lasting `durationMs`, never beyond `notAfterCap`. */
export function validityFrom(now: Date, durationMs: number, notAfterCap?: Date): Validity {
  const notAfter = new Date(now.getTime() + durationMs);
  return {
    notBefore: new Date(now.getTime() - clockSkewMs),
    notAfter: notAfterCap && notAfterCap < notAfter ? notAfterCap : notAfter,
  };
}

/** Issues a self-signed ECDSA P-256 CA whose subject names the cluster; it may sign leaf certificates only. */
export async function issueCa(params: {
  name: string;
  namespace: string;
  validity: Validity;
}): Promise<KeyPair> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [truncate(`${params.namespace}/${params.name} CA`)] }, { O: ['Warren'] }],
      keys,
      ...params.validity,
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certificate: certificate.toString('pem'), privateKey: await exportPrivateKey(keys.privateKey) };
}

/**
 * Issues a server certificate signed by `ca` for `dnsNames`, with a fresh key. It carries both serverAuth and
 * clientAuth, because nodes present the same certificate to each other for inter-node TLS.
 */
export async function issueServerCertificate(params: {
  ca: KeyPair;
  commonName: string;
  dnsNames: readonly string[];
  validity: Validity;
}): Promise<KeyPair> {
  const caCertificate = parsePem(params.ca.certificate, 'CA certificate');
  const caKey = await importSigningKey(params.ca.privateKey);
  const keys = await generateKeys();
  const caKeyId = caCertificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const certificate = await x509.X509CertificateGenerator.create(
    {
      subject: [{ CN: [truncate(params.commonName)] }, { O: ['Warren'] }],
      issuer: caCertificate.subjectName,
      publicKey: keys.publicKey,
      signingKey: caKey,
      ...params.validity,
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension(params.dnsNames.map((value) => ({ type: 'dns', value }))),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ...(caKeyId ? [new x509.AuthorityKeyIdentifierExtension(caKeyId)] : []),
      ],
    },
    crypto,
  );
  return { certificate: certificate.toString('pem'), privateKey: await exportPrivateKey(keys.privateKey) };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
}

async function exportPrivateKey(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** Imports a CA key of any PEM form for signing. */
async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  const key = readPrivateKey(pem, 'CA key');
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') {
    return crypto.subtle.importKey('pkcs8', pkcs8, ecdsa, false, ['sign']);
  }
  throw new CertificateError('InvalidKey', 'the CA key is not an ECDSA P-256 key');
}

/** The subject's CN holds at most 64 characters (RFC 5280 ub-common-name). */
function truncate(commonName: string): string {
  return commonName.slice(0, 64);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading and checking

/** Parses every certificate in a PEM bundle; throws CertificateError when there is none or one is malformed. */
export function parseCertificates(pem: string, what = 'certificate'): CertificateInfo[] {
  return splitPem(pem, what).map((certificate) => describe(certificate));
}

/** Parses the first certificate of a PEM bundle (the leaf of a chain). */
export function parseCertificate(pem: string, what = 'certificate'): CertificateInfo {
  return describe(parsePem(pem, what));
}

function describe(certificate: x509.X509Certificate): CertificateInfo {
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  return {
    serialNumber: certificate.serialNumber,
    subject: certificate.subject,
    issuer: certificate.issuer,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    dnsNames: names.filter((name) => name.type === 'dns').map((name) => name.value),
    ipAddresses: names.filter((name) => name.type === 'ip').map((name) => name.value),
    isCa: certificate.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    fingerprint: createHash('sha256').update(new Uint8Array(certificate.rawData)).digest('hex'),
  };
}

function parsePem(pem: string, what: string): x509.X509Certificate {
  const [first] = splitPem(pem, what);
  if (!first) throw new CertificateError('InvalidCertificate', `the ${what} holds no PEM certificate`);
  return first;
}

function splitPem(pem: string, what: string): x509.X509Certificate[] {
  let blocks: x509.PemStruct[];
  try {
    blocks = x509.PemConverter.decodeWithHeaders(pem).filter((block) => block.type === 'CERTIFICATE');
  } catch {
    throw new CertificateError('InvalidCertificate', `the ${what} is not PEM`);
  }
  if (blocks.length === 0)
    throw new CertificateError('InvalidCertificate', `the ${what} holds no PEM certificate`);
  return blocks.map((block) => {
    const der = Buffer.from(block.rawData).toString('base64');
    const cached = parsed.get(der);
    if (cached) {
      parsed.delete(der);
      parsed.set(der, cached);
      return cached;
    }
    let certificate: x509.X509Certificate;
    try {
      certificate = new x509.X509Certificate(block.rawData);
    } catch {
      throw new CertificateError('InvalidCertificate', `the ${what} is not a valid X.509 certificate`);
    }
    parsed.set(der, certificate);
    if (parsed.size > parsedCacheSize) parsed.delete(parsed.keys().next().value as string);
    return certificate;
  });
}

/**
 * Recently parsed certificates by DER. The ASN.1 decoder takes milliseconds per certificate, and every reconcile reads
 * the same few; the cache keeps that off the event loop. Least recently used entries go first.
 */
const parsed = new Map<string, x509.X509Certificate>();
const parsedCacheSize = 512;

function readPrivateKey(pem: string, what: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new CertificateError('InvalidKey', `the ${what} is not an unencrypted PEM private key`);
  }
}

/**
 * Whether `keyPem` is the private key of the first certificate in `certificatePem`. Throws CertificateError when
 * either cannot be read.
 */
export function keyMatchesCertificate(keyPem: string, certificatePem: string): boolean {
  const certificate = parsePem(certificatePem, 'certificate');
  const key = readPrivateKey(keyPem, 'private key');
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const fromCertificate = createPublicKey({
    key: Buffer.from(certificate.publicKey.rawData),
    format: 'der',
    type: 'spki',
  }).export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCertificate);
}

/**
 * Whether the first certificate in `certificatePem` was issued by one of the CA certificates in `caBundlePem` and
 * both are valid at `at`: the issuer name matches, the CA may sign certificates, and the signature verifies.
 */
export async function chainsTo(certificatePem: string, caBundlePem: string, at: Date): Promise<boolean> {
  const certificate = parsePem(certificatePem, 'certificate');
  if (!withinValidity(certificate, at)) return false;
  for (const ca of splitPem(caBundlePem, 'CA bundle')) {
    if (ca.subject !== certificate.issuer || !withinValidity(ca, at)) continue;
    if (ca.getExtension(x509.BasicConstraintsExtension)?.ca !== true) continue;
    if (await certificate.verify({ publicKey: ca, signatureOnly: true }, crypto)) return true;
  }
  return false;
}

function withinValidity(certificate: x509.X509Certificate, at: Date): boolean {
  return certificate.notBefore <= at && at <= certificate.notAfter;
}
