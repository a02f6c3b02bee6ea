import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { watchedLabel } from '../api/common.ts';
import { parseRabbitmqCluster } from '../api/rabbitmq-cluster.ts';
import {
  chainsTo,
  hourMs,
  issueCa,
  issueServerCertificate,
  type KeyPair,
  missingDnsNames,
  parseCertificate,
  parseCertificates,
  serverDnsNames,
  validityFrom,
} from './certificates.ts';
import {
  certificateExpirySamples,
  type ExistingTlsSecrets,
  planTls,
  type TlsCluster,
  type TlsPlan,
  tlsSecretNames,
} from './tls.ts';

const t0 = new Date('2026-06-01T12:00:00Z');
const later = (at: Date, ms: number) => new Date(at.getTime() + ms);

function cluster(tls: NonNullable<TlsCluster['spec']['tls']> | undefined): TlsCluster {
  return {
    metadata: { name: 'orders', namespace: 'shop', uid: 'uid-1', labels: { team: 'payments' } },
    spec: tls ? { tls } : {},
  };
}

function secret(name: string, data: Record<string, string>, labels: Record<string, string> = {}): V1Secret {
  return {
    metadata: { name, namespace: 'shop', labels },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

function text(secret: V1Secret | undefined, key: string): string {
  const value = secret?.data?.[key];
  assert.ok(value !== undefined, `Secret has key ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

async function userCertificate(options: { at?: Date; validity?: number } = {}) {
  const at = options.at ?? t0;
  const ca = await issueCa({
    name: 'corp',
    namespace: 'pki',
    validity: validityFrom(at, 10 * 8760 * hourMs),
  });
  const server = await issueServerCertificate({
    ca,
    commonName: 'orders',
    dnsNames: serverDnsNames('orders', 'shop'),
    validity: validityFrom(at, options.validity ?? 2160 * hourMs),
  });
  return { ca, server };
}

function tlsSecret(pair: KeyPair, labels: Record<string, string> = {}): V1Secret {
  return secret('orders-cert', { 'tls.crt': pair.certificate, 'tls.key': pair.privateKey }, labels);
}

describe('TLS off', () => {
  it('mounts nothing and contributes no hash', async () => {
    const plan = await planTls(cluster(undefined), {}, t0);
    assert.equal(plan.mount, undefined);
    assert.equal(plan.error, undefined);
    assert.equal(plan.materialHash, '');
    assert.deepEqual(plan.secretsToApply, []);
  });

  it('refuses disableNonTLSListeners without TLS', async () => {
    const plan = await planTls(cluster({ disableNonTLSListeners: true }), {}, t0);
    assert.equal(plan.error?.reason, 'TLSError');
    assert.match(plan.error.message, /disableNonTLSListeners needs TLS/);
    assert.equal(plan.requeueAfterMs, undefined, 'only a spec change can fix it');
  });

  it('refuses a CA Secret without a server certificate', async () => {
    const plan = await planTls(cluster({ caSecretName: 'corp-ca' }), {}, t0);
    assert.equal(plan.error?.reason, 'TLSError');
    assert.match(plan.error.message, /caSecretName needs tls.secretName/);
  });

  it('refuses managed certificates combined with a user Secret', async () => {
    const plan = await planTls(cluster({ secretName: 'orders-cert', managed: {} }), {}, t0);
    assert.match(plan.error?.message ?? '', /cannot be combined/);
  });
});

describe('Bring-your-own certificates', () => {
  it('mounts a valid Secret and hashes its certificate', async () => {
    const { server } = await userCertificate();
    const plan = await planTls(
      cluster({ secretName: 'orders-cert' }),
      { userTlsSecret: tlsSecret(server) },
      t0,
    );
    assert.equal(plan.error, undefined);
    assert.deepEqual(plan.mount, {
      secretName: 'orders-cert',
      verifyPeer: false,
      disableNonTLSListeners: false,
    });
    assert.match(plan.materialHash, /^[0-9a-f]{64}$/);
    assert.deepEqual(plan.secretsToApply, [], 'user Secrets are never written');
  });

  it('turns on mutual TLS with a CA Secret', async () => {
    const { ca, server } = await userCertificate();
    const plan = await planTls(
      cluster({ secretName: 'orders-cert', caSecretName: 'corp-ca', disableNonTLSListeners: true }),
      { userTlsSecret: tlsSecret(server), userCaSecret: secret('corp-ca', { 'ca.crt': ca.certificate }) },
      t0,
    );
    assert.equal(plan.error, undefined);
    assert.deepEqual(plan.mount, {
      secretName: 'orders-cert',
      caSecretName: 'corp-ca',
      verifyPeer: true,
      disableNonTLSListeners: true,
    });
  });

  it('says which Secret is missing', async () => {
    const plan = await planTls(cluster({ secretName: 'orders-cert' }), {}, t0);
    assert.equal(plan.error?.reason, 'TLSError');
    assert.equal(
      plan.error.message,
      'Secret "orders-cert" in namespace "shop" (spec.tls.secretName) was not found',
    );
    assert.ok(plan.requeueAfterMs !== undefined, 'looks again for the Secret');
    assert.equal(plan.mount, undefined);
  });

  it('names the missing key', async () => {
    const { server } = await userCertificate();
    const plan = await planTls(
      cluster({ secretName: 'orders-cert' }),
      { userTlsSecret: secret('orders-cert', { 'tls.crt': server.certificate }) },
      t0,
    );
    assert.equal(
      plan.error?.message,
      'Secret "orders-cert" in namespace "shop" (spec.tls.secretName) has no key "tls.key"',
    );
  });

  it('refuses a key that belongs to another certificate, without quoting either', async () => {
    const ours = await userCertificate();
    const other = await userCertificate();
    const plan = await planTls(
      cluster({ secretName: 'orders-cert' }),
      {
        userTlsSecret: tlsSecret({
          certificate: ours.server.certificate,
          privateKey: other.server.privateKey,
        }),
      },
      t0,
    );
    assert.match(
      plan.error?.message ?? '',
      /key "tls.key" of Secret "orders-cert" .* is not the private key/,
    );
    assert.ok(!plan.error?.message.includes('PRIVATE KEY'));
  });

  it('refuses content that is not PEM', async () => {
    const { server } = await userCertificate();
    const badCert = await planTls(
      cluster({ secretName: 'orders-cert' }),
      { userTlsSecret: tlsSecret({ certificate: 'oops', privateKey: server.privateKey }) },
      t0,
    );
    assert.match(badCert.error?.message ?? '', /key "tls.crt" .* does not hold a PEM certificate/);
    const badKey = await planTls(
      cluster({ secretName: 'orders-cert' }),
      { userTlsSecret: tlsSecret({ certificate: server.certificate, privateKey: 'hunter2' }) },
      t0,
    );
    assert.match(
      badKey.error?.message ?? '',
      /key "tls.key" .* does not hold an unencrypted PEM private key/,
    );
    assert.ok(!badKey.error?.message.includes('hunter2'));
  });

  it('refuses an expired certificate and says when it expired', async () => {
    const { server } = await userCertificate({ validity: hourMs });
    const plan = await planTls(
      cluster({ secretName: 'orders-cert' }),
      { userTlsSecret: tlsSecret(server) },
      later(t0, 2 * hourMs),
    );
    assert.match(plan.error?.message ?? '', /expired at 2026-06-01T13:00:00.000Z/);
  });

  it('names a CA Secret without ca.crt', async () => {
    const { server } = await userCertificate();
    const plan = await planTls(
      cluster({ secretName: 'orders-cert', caSecretName: 'corp-ca' }),
      {
        userTlsSecret: tlsSecret(server),
        userCaSecret: secret('corp-ca', { 'tls.crt': server.certificate }),
      },
      t0,
    );
    assert.equal(
      plan.error?.message,
      'Secret "corp-ca" in namespace "shop" (spec.tls.caSecretName) has no key "ca.crt"',
    );
  });

  it('changes the hash when the certificate is replaced, and only then', async () => {
    const spec = cluster({ secretName: 'orders-cert' });
    const first = await userCertificate();
    const second = await userCertificate();
    const hash = async (existing: ExistingTlsSecrets) => (await planTls(spec, existing, t0)).materialHash;
    const original = await hash({ userTlsSecret: tlsSecret(first.server) });
    const reformatted = tlsSecret({
      certificate: first.server.certificate.replaceAll('\n', '\r\n'),
      privateKey: first.server.privateKey,
    });
    assert.equal(await hash({ userTlsSecret: reformatted }), original, 'PEM line endings do not roll pods');
    assert.equal(await hash({ userTlsSecret: tlsSecret(first.server, { team: 'x' }) }), original);
    assert.notEqual(await hash({ userTlsSecret: tlsSecret(second.server) }), original);
  });

  it('changes the hash when the CA bundle changes', async () => {
    const spec = cluster({ secretName: 'orders-cert', caSecretName: 'corp-ca' });
    const { ca, server } = await userCertificate();
    const other = await userCertificate();
    const hash = async (bundle: string) =>
      (
        await planTls(
          spec,
          { userTlsSecret: tlsSecret(server), userCaSecret: secret('corp-ca', { 'ca.crt': bundle }) },
          t0,
        )
      ).materialHash;
    assert.notEqual(await hash(ca.certificate), await hash(ca.certificate + other.ca.certificate));
  });

  it('polls unlabelled Secrets and waits for labelled ones until expiry', async () => {
    const { server } = await userCertificate({ validity: 48 * hourMs });
    const spec = cluster({ secretName: 'orders-cert' });
    const unlabelled = await planTls(spec, { userTlsSecret: tlsSecret(server) }, t0);
    assert.equal(unlabelled.requeueAfterMs, 5 * 60_000);
    const labelled = await planTls(
      spec,
      { userTlsSecret: tlsSecret(server, { [watchedLabel]: 'true' }) },
      t0,
    );
    assert.equal(labelled.requeueAfterMs, 24 * hourMs, 'capped to a day');
    const soon = await planTls(
      spec,
      { userTlsSecret: tlsSecret(server, { [watchedLabel]: 'true' }) },
      later(t0, 47 * hourMs),
    );
    assert.equal(soon.requeueAfterMs, hourMs + 1000);
  });

  it('lists the Secrets to watch', () => {
    assert.deepEqual(tlsSecretNames(cluster({ secretName: 'a', caSecretName: 'a' })), ['a']);
    assert.deepEqual(tlsSecretNames(cluster({ secretName: 'a', caSecretName: 'b' })), ['a', 'b']);
    assert.deepEqual(tlsSecretNames(cluster({ managed: {} })), ['orders-ca', 'orders-tls']);
    assert.deepEqual(tlsSecretNames(cluster(undefined)), []);
  });
});

/** Feeds a plan's Secrets back as the existing ones, as the API server would return them. */
function applied(plan: TlsPlan): ExistingTlsSecrets {
  const [caSecret, serverSecret] = plan.secretsToApply;
  return { caSecret, serverSecret };
}

describe('Warren-issued certificates', () => {
  const managed = cluster({ managed: { duration: '10h', renewBefore: '1h' } });

  it('issues a CA and a server certificate that covers the cluster', async () => {
    const plan = await planTls(managed, {}, t0);
    assert.equal(plan.error, undefined);
    const [caSecret, serverSecret] = plan.secretsToApply;
    assert.equal(caSecret?.metadata?.name, 'orders-ca');
    assert.equal(serverSecret?.metadata?.name, 'orders-tls');
    assert.equal(serverSecret.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(serverSecret.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key']);

    const server = parseCertificate(text(serverSecret, 'tls.crt'));
    const ca = parseCertificate(text(caSecret, 'tls.crt'));
    assert.deepEqual(missingDnsNames(server, serverDnsNames('orders', 'shop')), []);
    assert.equal(server.issuer, ca.subject);
    assert.equal(server.notAfter.getTime(), t0.getTime() + 10 * hourMs);
    assert.equal(ca.notAfter.getTime(), t0.getTime() + 50 * hourMs, 'the CA lives five server validities');
    assert.equal(await chainsTo(text(serverSecret, 'tls.crt'), text(serverSecret, 'ca.crt'), t0), true);
    assert.deepEqual(
      plan.events.map((event) => event.reason),
      ['CaIssued', 'CertificateIssued'],
    );
    assert.equal(plan.requeueAfterMs, 9 * hourMs, 'looks again when the renewal is due');
  });

  it('mounts the server Secret only, never the CA key', async () => {
    const plan = await planTls(managed, {}, t0);
    assert.deepEqual(plan.mount, {
      secretName: 'orders-tls',
      caSecretName: 'orders-tls',
      verifyPeer: false,
      disableNonTLSListeners: false,
    });
  });

  it('labels its Secrets for the watch and makes the cluster their owner', async () => {
    const plan = await planTls(managed, {}, t0);
    for (const written of plan.secretsToApply) {
      const { labels = {}, namespace, ownerReferences = [] } = written.metadata ?? {};
      assert.deepEqual(
        {
          watched: labels[watchedLabel],
          name: labels['app.kubernetes.io/name'],
          team: labels.team,
          namespace,
        },
        { watched: 'true', name: 'orders', team: 'payments', namespace: 'shop' },
      );
      assert.deepEqual(
        ownerReferences.map((owner) => [owner.uid, owner.controller]),
        [['uid-1', true]],
      );
    }
  });

  it('uses the metadata helper it is given', async () => {
    const plan = await planTls(managed, {}, t0, {
      childMeta: (_cluster, name, extra) => ({ name, labels: { ...extra.labels, custom: 'yes' } }),
    });
    assert.deepEqual(plan.secretsToApply[0]?.metadata, {
      name: 'orders-ca',
      labels: { [watchedLabel]: 'true', custom: 'yes' },
    });
  });

  it('changes nothing while the certificate is fresh', async () => {
    const first = await planTls(managed, {}, t0);
    const second = await planTls(managed, applied(first), later(t0, 8 * hourMs));
    assert.deepEqual(second.secretsToApply, first.secretsToApply);
    assert.equal(second.materialHash, first.materialHash);
    assert.deepEqual(second.events, []);
    assert.equal(second.requeueAfterMs, hourMs);
  });

  it('renews the server certificate renewBefore ahead of expiry, keeping the CA', async () => {
    const first = await planTls(managed, {}, t0);
    const renewed = await planTls(managed, applied(first), later(t0, 9 * hourMs));
    const before = parseCertificate(text(first.secretsToApply[1], 'tls.crt'));
    const after = parseCertificate(text(renewed.secretsToApply[1], 'tls.crt'));
    assert.notEqual(after.serialNumber, before.serialNumber);
    assert.notEqual(text(renewed.secretsToApply[1], 'tls.key'), text(first.secretsToApply[1], 'tls.key'));
    assert.equal(text(renewed.secretsToApply[0], 'tls.crt'), text(first.secretsToApply[0], 'tls.crt'));
    assert.equal(text(renewed.secretsToApply[1], 'ca.crt'), text(first.secretsToApply[1], 'ca.crt'));
    assert.notEqual(renewed.materialHash, first.materialHash);
    assert.deepEqual(
      renewed.events.map((event) => event.reason),
      ['CertificateRenewed'],
    );
    assert.match(renewed.events[0]?.message ?? '', /expires at/);
  });

  it('reissues when the names no longer cover the cluster', async () => {
    const first = await planTls(managed, {}, t0);
    const moved = await planTls(managed, applied(first), later(t0, hourMs), {
      clusterDomain: 'corp.example',
    });
    const names = parseCertificate(text(moved.secretsToApply[1], 'tls.crt')).dnsNames;
    assert.ok(names.includes('orders.shop.svc.corp.example'));
    assert.match(moved.events[0]?.message ?? '', /did not cover/);
  });

  it('reissues at once when the duration is shortened', async () => {
    const first = await planTls(managed, {}, t0);
    const shorter = cluster({ managed: { duration: '2h', renewBefore: '30m' } });
    const plan = await planTls(shorter, applied(first), later(t0, hourMs));
    const info = parseCertificate(text(plan.secretsToApply[1], 'tls.crt'));
    assert.equal(info.notAfter.getTime(), t0.getTime() + 3 * hourMs);
  });

  it('replaces a server certificate whose key does not match', async () => {
    const first = await planTls(managed, {}, t0);
    const existing = applied(first);
    const stranger = await userCertificate();
    const broken = secret('orders-tls', {
      'tls.crt': text(existing.serverSecret, 'tls.crt'),
      'tls.key': stranger.server.privateKey,
    });
    const plan = await planTls(managed, { ...existing, serverSecret: broken }, later(t0, hourMs));
    const serverSecret = plan.secretsToApply[1];
    assert.equal(
      parseCertificate(text(serverSecret, 'tls.crt')).issuer,
      parseCertificate(text(first.secretsToApply[0], 'tls.crt')).subject,
    );
    assert.equal(plan.events[0]?.reason, 'CertificateRenewed');
  });

  it('replaces a CA Secret that holds no usable CA, with a warning', async () => {
    const first = await planTls(managed, {}, t0);
    const { serverSecret } = applied(first);
    const plan = await planTls(
      managed,
      { serverSecret, caSecret: secret('orders-ca', { 'tls.crt': 'garbage' }) },
      later(t0, hourMs),
    );
    assert.deepEqual(
      plan.events.map((event) => [event.type, event.reason]),
      [
        ['Warning', 'CaReplaced'],
        ['Normal', 'CertificateRenewed'],
      ],
    );
    assert.equal(
      await chainsTo(
        text(plan.secretsToApply[1], 'tls.crt'),
        text(plan.secretsToApply[1], 'ca.crt'),
        later(t0, hourMs),
      ),
      true,
    );
  });

  it('refuses durations it cannot read or renewBefore not shorter than duration', async () => {
    for (const managedSpec of [
      { duration: '1y' },
      { duration: '1h', renewBefore: '1h' },
      { renewBefore: '0' },
    ]) {
      const plan = await planTls(cluster({ managed: managedSpec }), {}, t0);
      assert.equal(plan.error?.reason, 'TLSError', JSON.stringify(managedSpec));
      assert.deepEqual(plan.secretsToApply, []);
    }
  });

  it('defaults to one year renewed 30 days ahead', async () => {
    const plan = await planTls(cluster({ managed: {} }), {}, t0);
    const server = parseCertificate(text(plan.secretsToApply[1], 'tls.crt'));
    assert.equal(server.notAfter.getTime(), t0.getTime() + 8760 * hourMs);
    assert.equal(plan.requeueAfterMs, 24 * hourMs, 'capped to a day');
  });

  it('publishes expiry timestamps per certificate role', async () => {
    const plan = await planTls(managed, {}, t0);
    assert.deepEqual(certificateExpirySamples(managed, plan), [
      {
        labels: { namespace: 'shop', rabbitmqcluster: 'orders', certificate: 'server' },
        value: t0.getTime() / 1000 + 36000,
      },
      {
        labels: { namespace: 'shop', rabbitmqcluster: 'orders', certificate: 'ca' },
        value: t0.getTime() / 1000 + 180000,
      },
    ]);
  });
});

describe('CA rotation', () => {
  const managed = cluster({ managed: { duration: '10h', renewBefore: '1h' } });

  it('introduces the new CA before using it, and drops the old one only when nothing depends on it', async () => {
    const first = await planTls(managed, {}, t0);
    const caOf = (plan: TlsPlan) => parseCertificate(text(plan.secretsToApply[0], 'tls.crt'));
    const bundleOf = (plan: TlsPlan) => parseCertificates(text(plan.secretsToApply[1], 'ca.crt'));
    const serverOf = (plan: TlsPlan) => parseCertificate(text(plan.secretsToApply[1], 'tls.crt'));
    const oldCa = caOf(first);

    // The CA (50h) is renewed when one server validity plus renewBefore (11h) is left.
    let plan = first;
    let now = later(t0, 39 * hourMs - 60_000);
    plan = await planTls(managed, applied(plan), now);
    assert.equal(bundleOf(plan).length, 1, 'not yet');

    now = later(t0, 39 * hourMs);
    const beforeIntroduce = plan;
    plan = await planTls(managed, applied(plan), now);
    assert.equal(plan.events[0]?.reason, 'CaRenewed');
    assert.notEqual(caOf(plan).fingerprint, oldCa.fingerprint);
    assert.deepEqual(
      bundleOf(plan).map((ca) => ca.fingerprint),
      [caOf(plan).fingerprint, oldCa.fingerprint],
      'both CAs are trusted',
    );
    assert.equal(serverOf(plan).issuer, oldCa.subject, 'the old CA still signs');
    assert.notEqual(plan.materialHash, beforeIntroduce.materialHash, 'pods roll to learn the new CA');
    assert.ok(plan.expirations.some((expiry) => expiry.certificate === 'previous-ca'));
    assert.equal(plan.requeueAfterMs, hourMs - 60_000, 'looks again when the new CA may sign');

    now = later(now, hourMs);
    plan = await planTls(managed, applied(plan), now);
    assert.equal(serverOf(plan).issuer, caOf(plan).subject, 'the new CA signs once pods trust it');
    assert.equal(bundleOf(plan).length, 2, 'pods not yet restarted still present the old certificate');

    now = later(now, 9 * hourMs);
    plan = await planTls(managed, applied(plan), now);
    assert.equal(plan.events[0]?.reason, 'CertificateRenewed');
    assert.deepEqual(
      bundleOf(plan).map((ca) => ca.fingerprint),
      [caOf(plan).fingerprint],
      'the old CA leaves with the next renewal',
    );
  });

  it('keeps every node and client able to verify every peer across two CA lifetimes', async () => {
    // Walk 120 hours (more than two CA lifetimes) in hourly steps. Whenever the material changes, pods roll one by
    // one, so for a while old and new pods coexist: each must trust the other's certificate.
    let plan = await planTls(managed, {}, t0);
    let changes = 0;
    for (let minutes = 60; minutes <= 120 * 60; minutes += 60) {
      const now = later(t0, minutes * 60_000);
      const next = await planTls(managed, applied(plan), now);
      assert.equal(next.error, undefined);
      const certificate = (p: TlsPlan) => text(p.secretsToApply[1], 'tls.crt');
      const bundle = (p: TlsPlan) => text(p.secretsToApply[1], 'ca.crt');
      assert.ok(await chainsTo(certificate(next), bundle(next), now), `valid at ${now.toISOString()}`);
      if (next.materialHash !== plan.materialHash) {
        changes += 1;
        assert.ok(
          await chainsTo(certificate(next), bundle(plan), now),
          `old pods trust new ones at ${minutes}m`,
        );
        assert.ok(
          await chainsTo(certificate(plan), bundle(next), now),
          `new pods trust old ones at ${minutes}m`,
        );
      }
      assert.ok(parseCertificates(bundle(next)).length <= 2);
      plan = next;
    }
    assert.ok(changes >= 12, `renewed regularly (${changes} changes)`);
  });
});

describe('The RabbitmqCluster schema', () => {
  it('feeds planTls with the managed block and its defaults', async () => {
    const parsed = parseRabbitmqCluster({
      apiVersion: 'warren.dev/v1alpha1',
      kind: 'RabbitmqCluster',
      metadata: { name: 'orders', namespace: 'shop', uid: 'uid-1' },
      spec: { tls: { managed: {} } },
    });
    assert.ok(parsed.success);
    const plan = await planTls(parsed.object, {}, t0);
    const server = parseCertificate(text(plan.secretsToApply[1], 'tls.crt'));
    assert.equal(server.notAfter.getTime(), t0.getTime() + 8760 * hourMs);
  });
});
