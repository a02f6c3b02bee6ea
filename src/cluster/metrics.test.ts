import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { certificateExpiryMetrics } from './metrics.ts';
import { certificateExpirySamples, type CertificateExpiry, type TlsCluster, type TlsPlan } from './tls.ts';

const orders: TlsCluster = {
  metadata: { namespace: 'shop', name: 'orders' },
  spec: { tls: { managed: {} } },
};
const billing: TlsCluster = {
  metadata: { namespace: 'shop', name: 'billing' },
  spec: { tls: { managed: {} } },
};
const key = (cluster: TlsCluster) => ({
  namespace: cluster.metadata.namespace ?? '',
  name: cluster.metadata.name ?? '',
});

function plan(expirations: CertificateExpiry[]): TlsPlan {
  return { secretsToApply: [], materialHash: '', events: [], expirations };
}

/** The gauge's series as `rabbitmqcluster/certificate` → value. */
async function series(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('warren_certificate_expiration_timestamp_seconds');
  assert.ok(metric, 'the gauge is registered');
  const { values } = await metric.get();
  return Object.fromEntries(
    values.map((v) => {
      assert.equal(v.labels.namespace, 'shop');
      return [`${String(v.labels.rabbitmqcluster)}/${String(v.labels.certificate)}`, v.value];
    }),
  );
}

const server = new Date('2027-01-01T00:00:00Z');
const ca = new Date('2031-01-01T00:00:00Z');
const previousCa = new Date('2027-06-01T00:00:00Z');
const seconds = (date: Date) => date.getTime() / 1000;

describe('The certificate expiry gauge', () => {
  it('exposes each certificate of a cluster by role, in Unix seconds', async () => {
    const registry = new Registry();
    const metrics = certificateExpiryMetrics(registry);
    const rotating = plan([
      { certificate: 'server', notAfter: server },
      { certificate: 'ca', notAfter: ca },
      { certificate: 'previous-ca', notAfter: previousCa },
    ]);
    metrics.record(key(orders), certificateExpirySamples(orders, rotating));
    assert.deepEqual(await series(registry), {
      'orders/server': seconds(server),
      'orders/ca': seconds(ca),
      'orders/previous-ca': seconds(previousCa),
    });
  });

  it('drops a role the cluster no longer uses, such as the previous CA after a rotation', async () => {
    const registry = new Registry();
    const metrics = certificateExpiryMetrics(registry);
    const during = plan([
      { certificate: 'server', notAfter: server },
      { certificate: 'ca', notAfter: ca },
      { certificate: 'previous-ca', notAfter: previousCa },
    ]);
    const renewed = new Date('2027-12-01T00:00:00Z');
    const afterwards = plan([
      { certificate: 'server', notAfter: renewed },
      { certificate: 'ca', notAfter: ca },
    ]);
    metrics.record(key(orders), certificateExpirySamples(orders, during));
    metrics.record(key(orders), certificateExpirySamples(orders, afterwards));
    assert.deepEqual(await series(registry), { 'orders/server': seconds(renewed), 'orders/ca': seconds(ca) });
  });

  it('removes only the series of a cluster that is deleted or turns TLS off', async () => {
    const registry = new Registry();
    const metrics = certificateExpiryMetrics(registry);
    const managed = plan([
      { certificate: 'server', notAfter: server },
      { certificate: 'ca', notAfter: ca },
    ]);
    metrics.record(key(orders), certificateExpirySamples(orders, managed));
    metrics.record(key(billing), certificateExpirySamples(billing, managed));

    metrics.record(key(orders), certificateExpirySamples(orders, plan([])));
    assert.deepEqual(await series(registry), {
      'billing/server': seconds(server),
      'billing/ca': seconds(ca),
    });
    metrics.forget(key(billing));
    assert.deepEqual(await series(registry), {});
  });

  it('is registered once per registry, however often it is asked for', async () => {
    const registry = new Registry();
    const first = certificateExpiryMetrics(registry);
    const second = certificateExpiryMetrics(registry);
    first.record(
      key(orders),
      certificateExpirySamples(orders, plan([{ certificate: 'server', notAfter: server }])),
    );
    second.forget(key(orders));
    assert.deepEqual(await series(registry), {});
  });
});
