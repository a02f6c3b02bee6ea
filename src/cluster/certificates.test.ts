import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CertificateError,
  chainsTo,
  hourMs,
  issueCa,
  issueServerCertificate,
  keyMatchesCertificate,
  missingDnsNames,
  parseCertificate,
  parseCertificates,
  serverDnsNames,
  validityFrom,
} from './certificates.ts';

const now = new Date('2026-06-01T12:00:00Z');
const year = 8760 * hourMs;

async function issuePair(at = now) {
  const ca = await issueCa({ name: 'orders', namespace: 'shop', validity: validityFrom(at, 5 * year) });
  const server = await issueServerCertificate({
    ca,
    commonName: 'orders',
    dnsNames: serverDnsNames('orders', 'shop'),
    validity: validityFrom(at, year),
  });
  return { ca, server };
}

describe('Server certificate names', () => {
  it('cover the client Service, the headless Service and every pod', () => {
    assert.deepEqual(serverDnsNames('orders', 'shop'), [
      'orders',
      'orders.shop',
      'orders.shop.svc',
      'orders.shop.svc.cluster.local',
      'orders-nodes',
      'orders-nodes.shop',
      'orders-nodes.shop.svc',
      'orders-nodes.shop.svc.cluster.local',
      '*.orders-nodes.shop',
      '*.orders-nodes.shop.svc',
      '*.orders-nodes.shop.svc.cluster.local',
    ]);
  });

  it('follow a custom cluster domain', () => {
    assert.ok(
      serverDnsNames('orders', 'shop', 'corp.example').includes('*.orders-nodes.shop.svc.corp.example'),
    );
  });
});

describe('Issuing a CA and a server certificate', () => {
  it('issues a CA that names the cluster and may sign certificates', async () => {
    const { ca } = await issuePair();
    const info = parseCertificate(ca.certificate);
    assert.equal(info.isCa, true);
    assert.match(info.subject, /shop\/orders CA/);
    assert.equal(info.subject, info.issuer);
    assert.equal(info.notAfter.getTime(), now.getTime() + 5 * year);
  });

  it('issues a server certificate for every cluster name, signed by the CA', async () => {
    const { ca, server } = await issuePair();
    const info = parseCertificate(server.certificate);
    assert.equal(info.isCa, false);
    assert.equal(info.issuer, parseCertificate(ca.certificate).subject);
    assert.deepEqual(missingDnsNames(info, serverDnsNames('orders', 'shop')), []);
    assert.equal(info.notAfter.getTime(), now.getTime() + year);
    assert.ok(info.notBefore < now, 'notBefore is backdated for clock skew');
    assert.equal(await chainsTo(server.certificate, ca.certificate, now), true);
  });

  it('gives every certificate its own key and serial number', async () => {
    const first = await issuePair();
    const second = await issueServerCertificate({
      ca: first.ca,
      commonName: 'orders',
      dnsNames: ['orders'],
      validity: validityFrom(now, year),
    });
    assert.notEqual(
      parseCertificate(second.certificate).serialNumber,
      parseCertificate(first.server.certificate).serialNumber,
    );
    assert.notEqual(second.privateKey, first.server.privateKey);
  });

  it('never lets a server certificate outlive a cap', () => {
    const cap = new Date(now.getTime() + hourMs);
    assert.deepEqual(validityFrom(now, year, cap).notAfter, cap);
    assert.equal(validityFrom(now, hourMs / 2, cap).notAfter.getTime(), now.getTime() + hourMs / 2);
  });
});

describe('Checking certificates and keys', () => {
  it('matches a certificate with its own key only', async () => {
    const { ca, server } = await issuePair();
    assert.equal(keyMatchesCertificate(server.privateKey, server.certificate), true);
    assert.equal(keyMatchesCertificate(ca.privateKey, server.certificate), false);
  });

  it('reads keys in the PEM forms cert-manager writes (SEC1 and PKCS#1)', async () => {
    const { server } = await issuePair();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    assert.equal(keyMatchesCertificate(pkcs1, server.certificate), false);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.equal(
      keyMatchesCertificate(
        ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
        server.certificate,
      ),
      false,
    );
  });

  it('rejects a key that is not PEM without quoting it', async () => {
    const { server } = await issuePair();
    assert.throws(
      () => keyMatchesCertificate('secret-bytes', server.certificate),
      (error: unknown) =>
        error instanceof CertificateError &&
        error.code === 'InvalidKey' &&
        !error.message.includes('secret-bytes'),
    );
  });

  it('rejects text that holds no certificate', () => {
    assert.throws(
      () => parseCertificate('not a certificate'),
      (error: unknown) => error instanceof CertificateError && error.code === 'InvalidCertificate',
    );
    const garbage = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    assert.throws(() => parseCertificate(garbage), CertificateError);
  });

  it('reads every certificate of a bundle, leaf first', async () => {
    const { ca, server } = await issuePair();
    const bundle = parseCertificates(server.certificate + ca.certificate);
    assert.deepEqual(
      bundle.map((info) => info.isCa),
      [false, true],
    );
  });

  it('accepts a chain to any CA of a bundle and refuses a foreign CA', async () => {
    const ours = await issuePair();
    const theirs = await issuePair();
    assert.equal(
      await chainsTo(ours.server.certificate, theirs.ca.certificate + ours.ca.certificate, now),
      true,
    );
    assert.equal(await chainsTo(ours.server.certificate, theirs.ca.certificate, now), false);
  });

  it('refuses a chain outside the validity of the certificate', async () => {
    const { ca, server } = await issuePair();
    assert.equal(
      await chainsTo(server.certificate, ca.certificate, new Date(now.getTime() + 2 * year)),
      false,
    );
  });

  it('refuses a leaf posing as a CA', async () => {
    const { server } = await issuePair();
    const forged = await issueServerCertificate({
      ca: server,
      commonName: 'orders',
      dnsNames: ['orders'],
      validity: validityFrom(now, hourMs),
    });
    assert.equal(await chainsTo(forged.certificate, server.certificate, now), false);
  });
});
