// TLS of a RabbitmqCluster against real servers: a RabbitMQ node serving the certificate Warren issues.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { issueCa, validityFrom } from '../../../src/cluster/certificates.ts';
import { planTls, type TlsCluster } from '../../../src/cluster/tls.ts';
import { freePorts } from '../../env/net.ts';
import { startRabbitmq, type RabbitmqHandle } from '../../env/rabbitmq.ts';

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
