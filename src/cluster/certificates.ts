// X.509 material for RabbitmqCluster TLS: a per-cluster CA, server certificates it signs, and the checks the
// reconciler runs on certificates it finds in Secrets (its own or the user's). Certificates are read and checked with
// node:crypto's X509Certificate; only issuing builds them, with @peculiar/x509 on Node's WebCrypto, loaded on first
// use: the library and its reflection polyfill cost about 20 MiB of memory and half a second of start-up, which an
// operator whose clusters issue no certificates should not pay. Private keys are read with node:crypto, which accepts
// every PEM form a user may bring (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"). Nothing here logs or
// returns key material beyond the PEM it was asked to create.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  KeyObject,
  webcrypto,
  X509Certificate,
} from 'node:crypto';

type X509Library = typeof import('@peculiar/x509');
let x509Library: Promise<X509Library> | undefined;

/** @peculiar/x509, loaded once, the first time a certificate is issued. */
function loadX509(): Promise<X509Library> {
  x509Library ??= (async () => {
    // It resolves its algorithm providers through tsyringe, which needs the Reflect metadata API.
    await import('reflect-metadata');
    return import('@peculiar/x509');
  })();
  return x509Library;
}

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
  const x509 = await loadX509();
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
  return { certificate: certificate.toString('pem'), privateKey: exportPrivateKey(keys.privateKey) };
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
  const x509 = await loadX509();
  const caCertificate = new x509.X509Certificate(parsePem(params.ca.certificate, 'CA certificate').raw);
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
  return { certificate: certificate.toString('pem'), privateKey: exportPrivateKey(keys.privateKey) };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
}

function exportPrivateKey(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
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

function describe(certificate: X509Certificate): CertificateInfo {
  const names = subjectAltNames(certificate.subjectAltName ?? '');
  return {
    serialNumber: certificate.serialNumber.toLowerCase(),
    subject: distinguishedName(certificate.subject),
    issuer: distinguishedName(certificate.issuer),
    notBefore: certificate.validFromDate,
    notAfter: certificate.validToDate,
    dnsNames: names.filter((name) => name.type === 'DNS').map((name) => name.value),
    ipAddresses: names.filter((name) => name.type === 'IP Address').map((name) => name.value),
    isCa: certificate.ca,
    fingerprint: createHash('sha256').update(certificate.raw).digest('hex'),
  };
}

/** Node writes a name one attribute per line; a status or message reads better on one. */
function distinguishedName(name: string): string {
  return name.split('\n').join(', ');
}

/**
 * The entries of Node's subjectAltName string (`DNS:a, IP Address:10.0.0.1`); a value holding a comma or a quote
 * comes JSON-quoted.
 */
function subjectAltNames(text: string): { type: string; value: string }[] {
  const entries: { type: string; value: string }[] = [];
  for (const match of text.matchAll(/([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const [, type = '', raw = ''] = match;
    entries.push({ type, value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return entries;
}

function parsePem(pem: string, what: string): X509Certificate {
  const [first] = splitPem(pem, what);
  if (!first) throw new CertificateError('InvalidCertificate', `the ${what} holds no PEM certificate`);
  return first;
}

const certificateBlock = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;

function splitPem(pem: string, what: string): X509Certificate[] {
  if (!pem.includes('-----BEGIN '))
    throw new CertificateError('InvalidCertificate', `the ${what} is not PEM`);
  const blocks = [...pem.matchAll(certificateBlock)].map((match) => (match[1] ?? '').replace(/\s+/g, ''));
  if (blocks.length === 0)
    throw new CertificateError('InvalidCertificate', `the ${what} holds no PEM certificate`);
  return blocks.map((der) => {
    const cached = parsed.get(der);
    if (cached) {
      parsed.delete(der);
      parsed.set(der, cached);
      return cached;
    }
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(Buffer.from(der, 'base64'));
    } catch {
      throw new CertificateError('InvalidCertificate', `the ${what} is not a valid X.509 certificate`);
    }
    parsed.set(der, certificate);
    if (parsed.size > parsedCacheSize) parsed.delete(parsed.keys().next().value as string);
    return certificate;
  });
}

/**
 * Recently parsed certificates by DER. Parsing takes a while per certificate, and every reconcile reads the same
 * few; the cache keeps that off the event loop. Least recently used entries go first.
 */
const parsed = new Map<string, X509Certificate>();
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
  const fromCertificate = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCertificate);
}

/**
 * Whether the first certificate in `certificatePem` was issued by one of the CA certificates in `caBundlePem` and
 * both are valid at `at`: the issuer name matches, the CA may sign certificates, and the signature verifies.
 */
export function chainsTo(certificatePem: string, caBundlePem: string, at: Date): Promise<boolean> {
  const certificate = parsePem(certificatePem, 'certificate');
  if (!withinValidity(certificate, at)) return Promise.resolve(false);
  for (const ca of splitPem(caBundlePem, 'CA bundle')) {
    if (ca.subject !== certificate.issuer || !withinValidity(ca, at) || !ca.ca) continue;
    if (certificate.verify(ca.publicKey)) return Promise.resolve(true);
  }
  return Promise.resolve(false);
}

function withinValidity(certificate: X509Certificate, at: Date): boolean {
  return certificate.validFromDate <= at && at <= certificate.validToDate;
}
