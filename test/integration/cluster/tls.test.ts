// TLS of a RabbitmqCluster against real servers: a RabbitMQ node serving the certificate Warren issues, and the
// cluster reconciler issuing, renewing and validating certificates against a real kube-apiserver.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig, type V1Secret, type V1StatefulSet } from '@kubernetes/client-node';
import amqp from 'amqplib';
import { rabbitmqClusterResource } from '../../../src/api/index.ts';
import {
  issueCa,
  issueServerCertificate,
  type KeyPair,
  missingDnsNames,
  parseCertificate,
  serverDnsNames,
  validityFrom,
} from '../../../src/cluster/certificates.ts';
import { configHashAnnotation } from '../../../src/cluster/resources/statefulset.ts';
import { watchedLabel } from '../../../src/api/index.ts';
import { planTls, type TlsCluster } from '../../../src/cluster/tls.ts';
import {
  accessFromKubeConfig,
  coreResources,
  KubeClient,
  Manager,
  type Condition,
  type KubeObject,
} from '../../../src/runtime/index.ts';
import { startControlPlane, type ControlPlaneHandle } from '../../env/control-plane.ts';
import { freePorts } from '../../env/net.ts';
import { startRabbitmq, type RabbitmqHandle } from '../../env/rabbitmq.ts';
import { startClusterOperator } from './operator.ts';

function secretText(plan: Awaited<ReturnType<typeof planTls>>, index: number, key: string): string {
  const value = plan.secretsToApply[index]?.data?.[key];
  assert.ok(value !== undefined, `planned Secret ${index} has ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

describe('A RabbitMQ node serving a Warren-issued certificate', () => {
  const cluster: TlsCluster = {
    metadata: { name: 'orders', namespace: 'shop', uid: 'uid-1' },
    spec: { tls: { managed: {} } },
  };
  const dir = mkdtempSync(join(tmpdir(), 'warren-tls-'));
  let broker: RabbitmqHandle;
  let tlsPort: number;
  let caBundle: string;
  let serverCertificate: string;
  let serverKey: string;

  before(async () => {
    const plan = await planTls(cluster, {}, new Date());
    assert.equal(plan.error, undefined);
    serverCertificate = secretText(plan, 1, 'tls.crt');
    serverKey = secretText(plan, 1, 'tls.key');
    caBundle = secretText(plan, 1, 'ca.crt');
    // The files as the pod sees them under /etc/rabbitmq-tls/.
    for (const [file, content] of [
      ['tls.crt', serverCertificate],
      ['tls.key', serverKey],
      ['ca.crt', caBundle],
    ] as const) {
      writeFileSync(join(dir, file), content, { mode: 0o600 });
    }
    [tlsPort] = (await freePorts(1)) as [number];
    broker = await startRabbitmq({
      additionalConfig: [
        `listeners.ssl.1 = 127.0.0.1:${tlsPort}`,
        `ssl_options.certfile = ${join(dir, 'tls.crt')}`,
        `ssl_options.keyfile = ${join(dir, 'tls.key')}`,
        `ssl_options.cacertfile = ${join(dir, 'ca.crt')}`,
        // Peers present the same certificate to each other; clients without one are still welcome.
        'ssl_options.verify = verify_peer',
        'ssl_options.fail_if_no_peer_cert = false',
      ].join('\n'),
    });
  });

  after(async () => {
    await broker.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = () =>
    `amqps://${encodeURIComponent(broker.username)}:${encodeURIComponent(broker.password)}@127.0.0.1:${tlsPort}`;

  for (const servername of [
    'orders.shop.svc',
    'orders',
    'orders-server-2.orders-nodes.shop.svc.cluster.local',
  ]) {
    it(`accepts a client that trusts only the cluster CA and verifies the name ${servername}`, async () => {
      const connection = await amqp.connect(url(), { ca: [caBundle], servername, rejectUnauthorized: true });
      try {
        const channel = await connection.createChannel();
        const { queue } = await channel.assertQueue('', { exclusive: true });
        channel.sendToQueue(queue, Buffer.from('over TLS'));
        const message = await channel.get(queue, { noAck: true });
        assert.ok(message !== false);
        assert.equal(message.content.toString(), 'over TLS');
      } finally {
        await connection.close();
      }
    });
  }

  it('accepts a peer that presents the issued certificate as its client certificate', async () => {
    const connection = await amqp.connect(url(), {
      ca: [caBundle],
      cert: serverCertificate,
      key: serverKey,
      servername: 'orders-server-0.orders-nodes.shop',
    });
    await connection.close();
  });

  it('is refused by a client that expects another name', async () => {
    await assert.rejects(
      amqp.connect(url(), { ca: [caBundle], servername: 'payments.shop.svc' }),
      (error: NodeJS.ErrnoException) => error.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    );
  });

  it('is refused by a client that trusts another CA', async () => {
    const now = new Date();
    const stranger = await issueCa({
      name: 'other',
      namespace: 'shop',
      validity: validityFrom(now, 3_600_000),
    });
    await assert.rejects(
      amqp.connect(url(), { ca: [stranger.certificate], servername: 'orders.shop.svc' }),
      // The node sends its chain up to the cluster CA, which this client does not trust.
      (error: NodeJS.ErrnoException) => error.code === 'SELF_SIGNED_CERT_IN_CHAIN',
    );
  });
});

/** Polls `check` until it returns a value, or fails naming `what`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe('RabbitmqCluster TLS through the reconciler', () => {
  let controlPlane: ControlPlaneHandle;
  let client: KubeClient;
  let manager: Manager;
  const namespace = `tls-${randomBytes(4).toString('hex')}`;
  const r = coreResources;

  const secret = (name: string) => client.get<KubeObject & V1Secret>(r.secret, { namespace, name });
  const text = (object: V1Secret | undefined, key: string) =>
    Buffer.from(object?.data?.[key] ?? '', 'base64').toString('utf8');
  const templateHash = async (name: string) =>
    (await client.get<KubeObject & V1StatefulSet>(r.statefulSet, { namespace, name: `${name}-server` }))?.spec
      ?.template.metadata?.annotations?.[configHashAnnotation];
  /** The certificate expiry series of one cluster, as scraped: role → Unix seconds. */
  const expirySeries = async (name: string) => {
    const series: Record<string, number> = {};
    for (const line of (await manager.registry.metrics()).split('\n')) {
      const match = /^warren_certificate_expiration_timestamp_seconds\{(.*)\} (\S+)$/.exec(line);
      if (!match) continue;
      const labels = new Map(
        [...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, label = '', value = '']) => [
          label,
          value,
        ]),
      );
      if (labels.get('namespace') === namespace && labels.get('rabbitmqcluster') === name) {
        series[labels.get('certificate') ?? ''] = Number(match[2]);
      }
    }
    return series;
  };
  const reconcileSuccess = async (name: string) => {
    const cluster = await client.get<KubeObject>(rabbitmqClusterResource, { namespace, name });
    const conditions = (cluster?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    return conditions.find((condition) => condition.type === 'ReconcileSuccess');
  };
  const createCluster = (name: string, tls: Record<string, unknown>) =>
    client.create(rabbitmqClusterResource, {
      apiVersion: 'warren.dev/v1alpha1',
      kind: 'RabbitmqCluster',
      metadata: { name, namespace },
      spec: { replicas: 1, tls },
    });
  const userSecret = (pair: KeyPair | { certificate: string }) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'byo-cert', namespace, labels: { [watchedLabel]: 'true' } },
    data: Object.fromEntries(
      Object.entries({
        'tls.crt': pair.certificate,
        'tls.key': 'privateKey' in pair ? pair.privateKey : undefined,
      })
        .filter((entry): entry is [string, string] => entry[1] !== undefined)
        .map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    ),
  });
  const issueUserCertificate = async () => {
    const now = new Date();
    const ca = await issueCa({ name: 'corp', namespace: 'pki', validity: validityFrom(now, 24 * 3_600_000) });
    return issueServerCertificate({
      ca,
      commonName: 'byo',
      dnsNames: serverDnsNames('byo', namespace),
      validity: validityFrom(now, 12 * 3_600_000),
    });
  };

  before(async () => {
    controlPlane = await startControlPlane();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(controlPlane.kubeconfigPath);
    const access = accessFromKubeConfig(kubeConfig);
    client = new KubeClient(access);
    await client.create(r.namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    manager = await startClusterOperator(access, namespace);
  });

  after(async () => {
    await manager.stop();
    await client.close();
    await controlPlane.stop();
  });

  it('issues a CA and a server certificate for the cluster, and renews it before expiry', async () => {
    await createCluster('orders', { managed: { duration: '2m', renewBefore: '100s' } });
    const serverSecret = await eventually('Secret orders-tls', () => secret('orders-tls'));
    const caSecret = await eventually('Secret orders-ca', () => secret('orders-ca'));
    const server = parseCertificate(text(serverSecret, 'tls.crt'));
    const ca = parseCertificate(text(caSecret, 'tls.crt'));
    assert.deepEqual(missingDnsNames(server, serverDnsNames('orders', namespace)), []);
    assert.equal(server.issuer, ca.subject);
    assert.equal(serverSecret.type, 'kubernetes.io/tls');
    const firstHash = await eventually('the pod template hash', () => templateHash('orders'));

    // Renewal is due 20 s after issue (2m validity, renewed 100 s ahead).
    const renewed = await eventually('a renewed certificate', async () => {
      const current = parseCertificate(text(await secret('orders-tls'), 'tls.crt'));
      return current.serialNumber !== server.serialNumber && current;
    });
    assert.equal(renewed.issuer, ca.subject);
    assert.equal(
      parseCertificate(text(await secret('orders-ca'), 'tls.crt')).fingerprint,
      ca.fingerprint,
      'same CA',
    );
    await eventually('a new pod template hash', async () => (await templateHash('orders')) !== firstHash);
  });

  it('exposes when the issued certificates expire, and drops the series with the cluster', async () => {
    await createCluster('ledger', { managed: {} });
    const { server, ca } = await eventually('series matching the stored certificates', async () => {
      const notAfter = async (name: string) =>
        parseCertificate(text(await eventually(`Secret ${name}`, () => secret(name)), 'tls.crt')).notAfter;
      const expected = {
        server: (await notAfter('ledger-tls')).getTime() / 1000,
        ca: (await notAfter('ledger-ca')).getTime() / 1000,
      };
      const series = await expirySeries('ledger');
      return series.server === expected.server && series.ca === expected.ca && expected;
    });
    assert.ok(ca > server, 'the CA outlives the server certificate');
    assert.deepEqual(Object.keys(await expirySeries('ledger')).sort(), ['ca', 'server']);

    await client.delete(rabbitmqClusterResource, { namespace, name: 'ledger' });
    await eventually(
      'no series of the deleted cluster',
      async () => Object.keys(await expirySeries('ledger')).length === 0,
    );
  });

  it('reports a user Secret without tls.key as TLSError, and rolls the pods when its content changes', async () => {
    const first = await issueUserCertificate();
    await client.create(r.secret, userSecret({ certificate: first.certificate }));
    await createCluster('byo', { secretName: 'byo-cert' });
    const failure = await eventually('ReconcileSuccess=False', async () => {
      const condition = await reconcileSuccess('byo');
      return condition?.status === 'False' && condition;
    });
    assert.equal(failure.reason, 'TLSError');
    assert.match(failure.message, /Secret "byo-cert" .* has no key "tls.key"/);

    await client.replace(r.secret, userSecret(first));
    const hash = await eventually('the pod template hash', () => templateHash('byo'));
    const second = await issueUserCertificate();
    await client.replace(r.secret, userSecret(second));
    await eventually('a new pod template hash', async () => (await templateHash('byo')) !== hash);
    const renewedExpiry = parseCertificate(second.certificate).notAfter.getTime() / 1000;
    await eventually('the series of the user certificate', async () => {
      const series = await expirySeries('byo');
      return series.server === renewedExpiry && Object.keys(series).length === 1;
    });
  });
});
