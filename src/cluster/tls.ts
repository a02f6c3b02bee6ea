// TLS of a RabbitmqCluster: which Secrets the pods mount, whether they are usable, and, when Warren issues the
// certificates itself, when to create, renew and rotate them. `planTls` is the one entry point the cluster reconciler
// calls; apart from generating keys (injectable) it is a function of the spec, the Secrets found and the time.
//
// Two sources of certificates:
//
// - Bring your own (`tls.secretName`, optionally `tls.caSecretName`), e.g. written by cert-manager. The Secrets are
//   validated (keys present, certificate parseable and unexpired, key matching) and hashed, so a renewal rolls the pods
//   instead of relying on the broker noticing a changed file (upstream CO#555).
// - Warren-issued (`tls.managed`): a per-cluster CA in `<name>-ca` (operator-private, never mounted into pods; shaped
//   like a cert-manager CA Issuer Secret, so one can issue client certificates from it) and a server certificate in
//   `<name>-tls` (`tls.crt`, `tls.key`, `ca.crt`, as cert-manager writes them).
//
// What the cluster controller must watch: Secrets labelled `warren.dev/watched=true` (the managed ones carry it, and a
// user may add it to theirs, e.g. through cert-manager's `secretTemplate.labels`), mapping a Secret to the clusters in
// its namespace that own it or name it (`tlsSecretNames`). User Secrets without the label are read directly on each
// reconcile and polled through `requeueAfterMs`, so the operator never caches every Secret of the cluster.
//
// CA rotation keeps clients and peers working throughout. The CA lives 5× the server validity. When its remaining life
// drops to one server validity plus `renewBefore`:
//   1. a new CA is created and added to the trust bundle (`ca.crt` = new + old); the server certificate stays signed by
//      the old CA. Pods roll, so every node and client reading `ca.crt` trusts both CAs.
//   2. after `renewBefore` (time for that roll), the server certificate is reissued by the new CA. Pods roll again;
//      pods not yet restarted still present the old certificate, which everyone still trusts.
//   3. at the next regular renewal, no certificate signed by the old CA is left, so it leaves the bundle.
// The old CA stays valid for at least one server validity after step 2, so nothing it signed outlives it.
import { createHash } from 'node:crypto';
import type { V1ObjectMeta, V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { watchedLabel } from '../api/common.ts';
import { parseGoDuration } from '../api/duration.ts';
import {
  CertificateError,
  type CertificateInfo,
  chainsTo,
  issueCa,
  issueServerCertificate,
  type KeyPair,
  keyMatchesCertificate,
  missingDnsNames,
  parseCertificate,
  parseCertificates,
  serverDnsNames,
  validityFrom,
} from './certificates.ts';

export const tlsErrorReason = 'TLSError';

const defaultDuration = '8760h';
const defaultRenewBefore = '720h';
/** CA validity as a multiple of the server certificate's. */
const caLifetimeFactor = 5;
/** How often user Secrets that carry no watched label are re-read. */
const userSecretPollMs = 5 * 60_000;
/** Longest requeue: keeps timers far below setTimeout's 24.8-day limit, and a daily look costs nothing. */
const maxRequeueMs = 24 * 3_600_000;

/** The parts of a RabbitmqCluster that TLS depends on. */
export interface TlsCluster {
  metadata: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string> };
  spec: {
    tls?: {
      secretName?: string;
      caSecretName?: string;
      disableNonTLSListeners?: boolean;
      managed?: { duration?: string; renewBefore?: string };
    };
  };
}

/** Secrets as read from the API (typed client or cache); absent ones are undefined. */
export interface ExistingTlsSecrets {
  /** `<name>-ca`, when Warren issues certificates. */
  caSecret?: V1Secret;
  /** `<name>-tls`, when Warren issues certificates. */
  serverSecret?: V1Secret;
  /** The Secret named by `spec.tls.secretName`. */
  userTlsSecret?: V1Secret;
  /** The Secret named by `spec.tls.caSecretName` (the same object when both names are equal). */
  userCaSecret?: V1Secret;
}

/** Creates key material; the default issues real certificates. Tests may count or replace it. */
export interface Issuer {
  issueCa: typeof issueCa;
  issueServerCertificate: typeof issueServerCertificate;
}

/** Every certificate a cluster's TLS can use: the server's, Warren's CA and its predecessor, or the user's CA. */
export const certificateRoles = ['server', 'ca', 'previous-ca', 'client-ca'] as const;
export type CertificateRole = (typeof certificateRoles)[number];

export interface CertificateExpiry {
  certificate: CertificateRole;
  notAfter: Date;
}

export interface TlsEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** What the pods mount at `/etc/rabbitmq-tls/` and how the broker uses it (the cluster builders' TlsMount). */
export interface TlsMount {
  /** Secret with `tls.crt` and `tls.key`. */
  secretName: string;
  /** Secret with `ca.crt`. */
  caSecretName?: string;
  /** Verify client certificates against `ca.crt` (mutual TLS), as upstream does for `caSecretName`. */
  verifyPeer: boolean;
  disableNonTLSListeners: boolean;
}

export interface TlsPlan {
  /** What the pods mount; undefined when TLS is off or unusable. */
  mount?: TlsMount;
  /** Secrets Warren owns, in their desired state (apply with server-side apply; unchanged ones are no-ops). */
  secretsToApply: V1Secret[];
  /**
   * Hash of the certificates the pods mount (never of private keys). Put it on the pod template: it changes exactly
   * when pods must roll. Empty without TLS or with an error.
   */
  materialHash: string;
  /** When to look again: the next renewal or rotation step, or the next poll of unwatched user Secrets. */
  requeueAfterMs?: number;
  /** Set when TLS cannot be served; `reason` is `TLSError`. Leave the pods as they are. */
  error?: { reason: typeof tlsErrorReason; message: string };
  /** What changed, for Events on the cluster. */
  events: TlsEvent[];
  /** Expiry of every certificate in use, for `warren_certificate_expiration_timestamp_seconds`. */
  expirations: CertificateExpiry[];
}

export interface PlanTlsOptions<C extends TlsCluster = TlsCluster> {
  issuer?: Issuer;
  clusterDomain?: string;
  /** Metadata of a child object; the cluster builders' helper, so TLS Secrets carry the same labels and owner. */
  childMeta?: (cluster: C, name: string, extra: { labels: Record<string, string> }) => V1ObjectMeta;
}

/** Names of the Warren-issued Secrets of a cluster. */
export function managedSecretNames(clusterName: string): { ca: string; server: string } {
  return { ca: `${clusterName}-ca`, server: `${clusterName}-tls` };
}

/** Every Secret a cluster's TLS reads: what a Secret watch maps back to the cluster. */
export function tlsSecretNames(cluster: TlsCluster): string[] {
  const tls = cluster.spec.tls;
  if (!tls) return [];
  if (tls.managed) {
    const names = managedSecretNames(cluster.metadata.name ?? '');
    return [names.ca, names.server];
  }
  return [...new Set([tls.secretName, tls.caSecretName].filter((name) => name !== undefined))];
}

export async function planTls<C extends TlsCluster>(
  cluster: C,
  existing: ExistingTlsSecrets,
  now: Date,
  options: PlanTlsOptions<C> = {},
): Promise<TlsPlan> {
  const tls = cluster.spec.tls;
  if (tls?.managed && (tls.secretName !== undefined || tls.caSecretName !== undefined)) {
    return failed(
      'tls.managed cannot be combined with tls.secretName or tls.caSecretName: choose one source',
    );
  }
  if (tls?.managed) return planManaged(cluster, tls.managed, existing, now, options);
  if (tls?.secretName !== undefined)
    return planUserSecrets(cluster, tls.secretName, tls.caSecretName, existing, now);
  if (tls?.caSecretName !== undefined) {
    return failed('tls.caSecretName needs tls.secretName: mutual TLS needs a server certificate');
  }
  if (tls?.disableNonTLSListeners) {
    return failed('tls.disableNonTLSListeners needs TLS: set tls.secretName or tls.managed');
  }
  return off();
}

// ---------------------------------------------------------------------------------------------------------------
// Bring your own

function planUserSecrets(
  cluster: TlsCluster,
  secretName: string,
  caSecretName: string | undefined,
  existing: ExistingTlsSecrets,
  now: Date,
): TlsPlan {
  const namespace = cluster.metadata.namespace ?? '';
  const read =
    caSecretName === undefined ? [existing.userTlsSecret] : [existing.userTlsSecret, existing.userCaSecret];
  const poll = read.some((secret) => secret?.metadata?.labels?.[watchedLabel] !== 'true');
  const retry = (message: string): TlsPlan => ({ ...failed(message), requeueAfterMs: userSecretPollMs });

  const where = (name: string, field: string) =>
    `Secret "${name}" in namespace "${namespace}" (spec.tls.${field})`;
  const server = where(secretName, 'secretName');
  if (!existing.userTlsSecret) return retry(`${server} was not found`);
  const certificatePem = secretText(existing.userTlsSecret, 'tls.crt');
  const keyPem = secretText(existing.userTlsSecret, 'tls.key');
  if (certificatePem === undefined) return retry(`${server} has no key "tls.crt"`);
  if (keyPem === undefined) return retry(`${server} has no key "tls.key"`);
  let chain: CertificateInfo[];
  try {
    chain = parseCertificates(certificatePem);
  } catch {
    return retry(`key "tls.crt" of ${server} does not hold a PEM certificate`);
  }
  const leaf = chain[0] as CertificateInfo;
  try {
    if (!keyMatchesCertificate(keyPem, certificatePem)) {
      return retry(`key "tls.key" of ${server} is not the private key of the certificate in "tls.crt"`);
    }
  } catch {
    return retry(`key "tls.key" of ${server} does not hold an unencrypted PEM private key`);
  }
  if (now >= leaf.notAfter) {
    return retry(`the certificate in key "tls.crt" of ${server} expired at ${leaf.notAfter.toISOString()}`);
  }

  const expirations: CertificateExpiry[] = [{ certificate: 'server', notAfter: leaf.notAfter }];
  let caCertificates: CertificateInfo[] = [];
  if (caSecretName !== undefined) {
    const caSource = where(caSecretName, 'caSecretName');
    if (!existing.userCaSecret) return retry(`${caSource} was not found`);
    const caPem = secretText(existing.userCaSecret, 'ca.crt');
    if (caPem === undefined) return retry(`${caSource} has no key "ca.crt"`);
    try {
      caCertificates = parseCertificates(caPem);
    } catch {
      return retry(`key "ca.crt" of ${caSource} does not hold a PEM certificate`);
    }
    expirations.push({ certificate: 'client-ca', notAfter: earliest(caCertificates) });
  }

  // Look again when the certificate expires (the condition must say so), or sooner to see unwatched Secrets change.
  const untilExpiry = leaf.notAfter.getTime() - now.getTime() + 1000;
  return {
    mount: {
      secretName,
      ...(caSecretName === undefined ? {} : { caSecretName }),
      verifyPeer: caSecretName !== undefined,
      disableNonTLSListeners: cluster.spec.tls?.disableNonTLSListeners ?? false,
    },
    secretsToApply: [],
    materialHash: materialHash(chain, caCertificates),
    requeueAfterMs: clampRequeue(poll ? Math.min(untilExpiry, userSecretPollMs) : untilExpiry),
    events: [],
    expirations,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Warren-issued

interface CaState {
  pair: KeyPair;
  info: CertificateInfo;
}

async function planManaged<C extends TlsCluster>(
  cluster: C,
  managed: { duration?: string; renewBefore?: string },
  existing: ExistingTlsSecrets,
  now: Date,
  options: PlanTlsOptions<C>,
): Promise<TlsPlan> {
  const name = cluster.metadata.name ?? '';
  const namespace = cluster.metadata.namespace ?? '';
  const issuer = options.issuer ?? { issueCa, issueServerCertificate };
  const secretNames = managedSecretNames(name);

  const duration = parseGoDuration(managed.duration ?? defaultDuration);
  const renewBefore = parseGoDuration(managed.renewBefore ?? defaultRenewBefore);
  if (duration === undefined || renewBefore === undefined) {
    return failed('tls.managed.duration and renewBefore must be durations such as "8760h" or "720h"');
  }
  if (!(renewBefore > 0 && renewBefore < duration)) {
    return failed('tls.managed.renewBefore must be positive and shorter than tls.managed.duration');
  }
  const caDuration = caLifetimeFactor * duration;
  const caRenewBefore = duration + renewBefore;
  const events: TlsEvent[] = [];
  const wakeUps: number[] = [];

  // 1. The CA: keep, create, or introduce a successor (see the rotation scheme at the top).
  let current = readCa(existing.caSecret, 'tls.crt', 'tls.key', now);
  let previous = current ? readCa(existing.caSecret, 'previous.crt', 'previous.key', now) : undefined;
  if (!current) {
    const replaced = existing.caSecret !== undefined;
    current = await newCa(issuer, name, namespace, now, caDuration);
    previous = undefined;
    events.push(
      replaced
        ? warning('CaReplaced', `Secret "${secretNames.ca}" held no valid CA; issued a new CA`)
        : normal('CaIssued', `Issued a CA for the cluster, valid until ${iso(current.info.notAfter)}`),
    );
  } else if (!previous && remaining(current, now) <= caRenewBefore) {
    previous = current;
    current = await newCa(issuer, name, namespace, now, caDuration);
    events.push(
      normal(
        'CaRenewed',
        `The CA expires at ${iso(previous.info.notAfter)}: added a new CA to the trust bundle; ` +
          `server certificates move to it in ${formatMs(renewBefore)}`,
      ),
    );
  }
  if (!previous) wakeUps.push(current.info.notAfter.getTime() - caRenewBefore);

  // 2. The signer: a new CA signs only once the pods have had `renewBefore` to learn to trust it.
  const switchAt = current.info.notBefore.getTime() + renewBefore;
  const signer = previous && now.getTime() < switchAt ? previous : current;
  if (signer === previous) wakeUps.push(switchAt);

  // 3. The server certificate: keep it unless it is missing, broken, from the wrong CA, short of names or due.
  const dnsNames = serverDnsNames(name, namespace, options.clusterDomain);
  const server = readServer(existing.serverSecret);
  const reissue = await reissueReason(server, { signer, current, dnsNames, duration, renewBefore, now });
  let serverPair = server?.pair;
  if (reissue !== undefined || !serverPair) {
    const outgoing = server?.pair.certificate;
    serverPair = await issuer.issueServerCertificate({
      ca: signer.pair,
      commonName: name,
      dnsNames,
      validity: validityFrom(now, duration, signer.info.notAfter),
    });
    // The old CA leaves the bundle once neither the new certificate nor the one it replaces depends on it.
    if (
      previous &&
      signer !== previous &&
      !(outgoing && (await chainsTo(outgoing, previous.pair.certificate, now)))
    ) {
      previous = undefined;
    }
    events.push(
      server
        ? normal('CertificateRenewed', `Renewed the server certificate: ${reissue ?? 'it was unreadable'}`)
        : normal('CertificateIssued', 'Issued the server certificate'),
    );
  }
  const serverInfo = parseCertificate(serverPair.certificate);
  wakeUps.push(serverInfo.notAfter.getTime() - renewBefore);

  // 4. The desired Secrets and what the pods see.
  const trusted = previous ? [current, previous] : [current];
  const bundle = trusted.map((ca) => ca.pair.certificate).join('');
  const meta = (secretName: string): V1ObjectMeta =>
    (options.childMeta ?? defaultChildMeta)(cluster, secretName, { labels: { [watchedLabel]: 'true' } });
  const caSecret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(secretNames.ca),
    type: 'kubernetes.io/tls',
    data: encode({
      'tls.crt': current.pair.certificate,
      'tls.key': current.pair.privateKey,
      'ca.crt': current.pair.certificate,
      ...(previous
        ? { 'previous.crt': previous.pair.certificate, 'previous.key': previous.pair.privateKey }
        : {}),
    }),
  };
  const serverSecret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(secretNames.server),
    type: 'kubernetes.io/tls',
    data: encode({ 'tls.crt': serverPair.certificate, 'tls.key': serverPair.privateKey, 'ca.crt': bundle }),
  };

  const next = Math.min(...wakeUps) - now.getTime();
  return {
    // The bundle is mounted so nodes can verify each other; clients are not asked for certificates.
    mount: {
      secretName: secretNames.server,
      caSecretName: secretNames.server,
      verifyPeer: false,
      disableNonTLSListeners: cluster.spec.tls?.disableNonTLSListeners ?? false,
    },
    secretsToApply: [caSecret, serverSecret],
    materialHash: materialHash(
      [serverInfo],
      trusted.map((ca) => ca.info),
    ),
    requeueAfterMs: clampRequeue(next),
    events,
    expirations: [
      { certificate: 'server', notAfter: serverInfo.notAfter },
      { certificate: 'ca', notAfter: current.info.notAfter },
      ...(previous ? [{ certificate: 'previous-ca' as const, notAfter: previous.info.notAfter }] : []),
    ],
  };
}

async function newCa(issuer: Issuer, name: string, namespace: string, now: Date, caDuration: number) {
  const pair = await issuer.issueCa({ name, namespace, validity: validityFrom(now, caDuration) });
  return { pair, info: parseCertificate(pair.certificate) };
}

/** A usable CA from two keys of the CA Secret: parseable, a CA, unexpired, and the key matching. */
function readCa(
  secret: V1Secret | undefined,
  certKey: string,
  keyKey: string,
  now: Date,
): CaState | undefined {
  const certificate = secret && secretText(secret, certKey);
  const privateKey = secret && secretText(secret, keyKey);
  if (certificate === undefined || privateKey === undefined) return undefined;
  try {
    const info = parseCertificate(certificate);
    if (!info.isCa || now >= info.notAfter || !keyMatchesCertificate(privateKey, certificate))
      return undefined;
    return { pair: { certificate, privateKey }, info };
  } catch (error) {
    if (error instanceof CertificateError) return undefined;
    throw error;
  }
}

function readServer(secret: V1Secret | undefined): { pair: KeyPair; info?: CertificateInfo } | undefined {
  const certificate = secret && secretText(secret, 'tls.crt');
  const privateKey = secret && secretText(secret, 'tls.key');
  if (certificate === undefined || privateKey === undefined) return undefined;
  try {
    if (!keyMatchesCertificate(privateKey, certificate)) return { pair: { certificate, privateKey } };
    return { pair: { certificate, privateKey }, info: parseCertificate(certificate) };
  } catch (error) {
    if (error instanceof CertificateError) return { pair: { certificate, privateKey } };
    throw error;
  }
}

/** Why the server certificate must be reissued, as a clause for the Event; undefined to keep it. */
async function reissueReason(
  server: { pair: KeyPair; info?: CertificateInfo } | undefined,
  context: {
    signer: CaState;
    current: CaState;
    dnsNames: string[];
    duration: number;
    renewBefore: number;
    now: Date;
  },
): Promise<string | undefined> {
  const { signer, current, dnsNames, duration, renewBefore, now } = context;
  if (!server) return 'there was none';
  const { info } = server;
  if (!info) return 'the stored certificate or key was unreadable or did not match';
  // Signed by the signer, or already by the newest CA: both are what the rotation wants.
  const trusted =
    (await chainsTo(server.pair.certificate, signer.pair.certificate, now)) ||
    (signer !== current && (await chainsTo(server.pair.certificate, current.pair.certificate, now)));
  if (!trusted) return 'it was not signed by the cluster CA in use';
  const missing = missingDnsNames(info, dnsNames);
  if (missing.length > 0) return `it did not cover ${missing.join(', ')}`;
  if (now.getTime() >= info.notAfter.getTime() - renewBefore) return `it expires at ${iso(info.notAfter)}`;
  // A shortened duration applies at once; a clock-skew minute of backdating is part of every validity.
  if (info.notAfter.getTime() - info.notBefore.getTime() > duration + 120_000) {
    return 'its validity was longer than tls.managed.duration';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Metrics

export const certificateExpiryMetricName = 'warren_certificate_expiration_timestamp_seconds';

/** Labels of one series: the cluster and the certificate's role, never anything read from a Secret. */
export interface CertificateExpiryLabels {
  namespace: string;
  /** Not `cluster`: Prometheus setups commonly use that as an external label for the Kubernetes cluster. */
  rabbitmqcluster: string;
  certificate: CertificateRole;
}

export interface CertificateExpirySample {
  labels: CertificateExpiryLabels;
  value: number;
}

/**
 * Samples of `warren_certificate_expiration_timestamp_seconds{namespace,rabbitmqcluster,certificate}`: when each
 * certificate a cluster uses expires, in Unix seconds.
 */
export function certificateExpirySamples(cluster: TlsCluster, plan: TlsPlan): CertificateExpirySample[] {
  return plan.expirations.map((expiry) => ({
    labels: {
      namespace: cluster.metadata.namespace ?? '',
      rabbitmqcluster: cluster.metadata.name ?? '',
      certificate: expiry.certificate,
    },
    value: Math.floor(expiry.notAfter.getTime() / 1000),
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function off(): TlsPlan {
  return { secretsToApply: [], materialHash: '', events: [], expirations: [] };
}

function failed(message: string): TlsPlan {
  return { ...off(), error: { reason: tlsErrorReason, message } };
}

/**
 * SHA-256 over the DER fingerprints of the certificates mounted into the pods: independent of PEM formatting, and of
 * the private keys (a new key always comes with a new certificate).
 */
function materialHash(certificates: CertificateInfo[], trusted: CertificateInfo[]): string {
  const material = JSON.stringify({
    certificates: certificates.map((c) => c.fingerprint),
    trusted: trusted.map((c) => c.fingerprint),
  });
  return createHash('sha256').update(material).digest('hex');
}

function secretText(secret: V1Secret, key: string): string | undefined {
  const value = secret.data?.[key];
  if (value !== undefined) return Buffer.from(value, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
  );
}

function remaining(ca: CaState, now: Date): number {
  return ca.info.notAfter.getTime() - now.getTime();
}

function earliest(certificates: CertificateInfo[]): Date {
  return new Date(Math.min(...certificates.map((c) => c.notAfter.getTime())));
}

function clampRequeue(ms: number): number {
  return Math.min(Math.max(ms, 1000), maxRequeueMs);
}

function normal(reason: string, message: string): TlsEvent {
  return { type: 'Normal', reason, message };
}

function warning(reason: string, message: string): TlsEvent {
  return { type: 'Warning', reason, message };
}

function iso(date: Date): string {
  return date.toISOString();
}

function formatMs(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${Math.round(ms / 1000)}s`;
  const hours = Math.round(minutes / 60);
  return hours < 72 ? `${hours}h` : `${Math.round(hours / 24)} days`;
}

/** Labels and owner as the cluster builders give their children (the standard labels, plus the CR's own). */
function defaultChildMeta(
  cluster: TlsCluster,
  name: string,
  extra: { labels: Record<string, string> },
): V1ObjectMeta {
  const clusterName = cluster.metadata.name ?? '';
  const inherited = Object.entries(cluster.metadata.labels ?? {}).filter(
    ([key]) => !key.startsWith('app.kubernetes.io'),
  );
  const ownerReferences: V1OwnerReference[] | undefined = cluster.metadata.uid
    ? [
        {
          apiVersion: 'warren.dev/v1alpha1',
          kind: 'RabbitmqCluster',
          name: clusterName,
          uid: cluster.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]
    : undefined;
  return {
    name,
    namespace: cluster.metadata.namespace,
    labels: {
      ...extra.labels,
      ...Object.fromEntries(inherited),
      'app.kubernetes.io/name': clusterName,
      'app.kubernetes.io/component': 'rabbitmq',
      'app.kubernetes.io/part-of': 'rabbitmq',
    },
    ...(ownerReferences ? { ownerReferences } : {}),
  };
}
