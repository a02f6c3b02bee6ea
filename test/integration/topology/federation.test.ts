// Federation through the API server, with a second RabbitMQ as the upstream: a Federation (the upstream, its
// URI in a Secret) and a Policy applying it to an exchange of the test broker make a message published on the
// upstream broker's exchange reach a queue bound on the downstream one.
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startRabbitmq, type RabbitmqHandle } from '../../env/rabbitmq.ts';
import {
  broker,
  core,
  create,
  createConnectionSecret,
  createNamespace,
  enc,
  eventually,
  remove,
  startOperator,
  testEnv,
  waitGone,
  waitReady,
  waitReason,
  type Operator,
  assertNoBrokerWrites,
} from './harness.ts';

let operator: Operator;
let upstream: RabbitmqHandle;
let ns: string;
const vhost = `federation-${Date.now()}`;
const rmq = broker();
const ref = { connectionSecret: { name: 'broker' } };
// The federation link's user on the upstream broker: its password must never leave the Secret.
const linkUser = 'federation-link';
const linkPassword = randomBytes(18).toString('base64url');
const upstreamPath = `/api/parameters/federation-upstream/${enc(vhost)}/origin`;

function upstreamUri(query = ''): string {
  return `amqp://${linkUser}:${linkPassword}@${new URL(upstream.amqpUrl).host}/%2F${query}`;
}

async function mergeSecret(name: string, data: Record<string, string>): Promise<void> {
  await core().patchNamespacedSecret(
    { namespace: ns, name, body: { stringData: data } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

before(async () => {
  upstream = await startRabbitmq();
  const origin = broker(upstream);
  assert.ok(
    (await origin.call('PUT', `/api/users/${linkUser}`, { password: linkPassword, tags: '' })).status < 300,
  );
  const all = { configure: '.*', write: '.*', read: '.*' };
  assert.ok((await origin.call('PUT', `/api/permissions/%2F/${linkUser}`, all)).status < 300);
  assert.ok(
    (await origin.call('PUT', '/api/exchanges/%2F/events', { type: 'topic', durable: true })).status < 300,
  );

  ns = await createNamespace('topology-federation');
  await createConnectionSecret(ns, 'broker');
  operator = await startOperator({ brokerRefreshInterval: '2s', dependencyGracePeriod: '5s' });
  await create('Vhost', ns, 'vhost', { name: vhost, rabbitmqClusterReference: ref });
  await create('Exchange', ns, 'events', {
    name: 'events',
    vhost,
    type: 'topic',
    rabbitmqClusterReference: ref,
  });
  await create('Queue', ns, 'federated', {
    name: 'federated',
    vhost,
    type: 'classic',
    rabbitmqClusterReference: ref,
  });
  await create('Binding', ns, 'federated', {
    vhost,
    source: 'events',
    destination: 'federated',
    destinationType: 'queue',
    routingKey: '#',
    rabbitmqClusterReference: ref,
  });
  for (const [kind, name] of [
    ['Vhost', 'vhost'],
    ['Exchange', 'events'],
    ['Queue', 'federated'],
    ['Binding', 'federated'],
  ] as const) {
    await waitReady(kind, ns, name);
  }
});

after(async () => {
  await operator.stop();
  await rmq.call('DELETE', `/api/vhosts/${enc(vhost)}`);
  await upstream.destroy();
});

describe('Federation', () => {
  it('says which Secret or key is missing', async () => {
    await create('Federation', ns, 'origin', {
      name: 'origin',
      vhost,
      uriSecret: { name: 'origin-uri' },
      exchange: 'events',
      maxHops: 1,
      'prefetch-count': 50,
      ackMode: 'on-confirm',
      reconnectDelay: 1,
      rabbitmqClusterReference: ref,
    });
    const missing = await waitReason('Federation', ns, 'origin', 'SecretNotFound');
    assert.match(missing.status?.conditions?.[0]?.message ?? '', /Secret "origin-uri".*key uri/);
    await core().createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'origin-uri', namespace: ns }, stringData: { url: upstreamUri() } },
    });
    const noKey = await waitReason('Federation', ns, 'origin', 'SecretInvalid');
    assert.match(noKey.status?.conditions?.[0]?.message ?? '', /Secret "origin-uri" .*lacks the key uri/);
  });

  it('federates the upstream exchange into the downstream one that a Policy names', async () => {
    await mergeSecret('origin-uri', { uri: upstreamUri() });
    await waitReady('Federation', ns, 'origin');
    assert.deepEqual((await rmq.get<{ value: unknown }>(upstreamPath))?.value, {
      uri: [upstreamUri()],
      exchange: 'events',
      'max-hops': 1,
      'prefetch-count': 50,
      'ack-mode': 'on-confirm',
      'reconnect-delay': 1,
    });
    await create('Policy', ns, 'federate-events', {
      name: 'federate-events',
      vhost,
      pattern: '^events$',
      applyTo: 'exchanges',
      definition: { 'federation-upstream': 'origin' },
      rabbitmqClusterReference: ref,
    });
    await waitReady('Policy', ns, 'federate-events');
    await eventually('the federation link running', async () => {
      const links = await rmq.get<{ upstream: string; status: string }[]>(
        `/api/federation-links/${enc(vhost)}`,
      );
      return links?.some((link) => link.upstream === 'origin' && link.status === 'running');
    });

    const publisher = await amqp.connect(upstream.amqpUrl);
    try {
      const channel = await publisher.createConfirmChannel();
      channel.publish('events', 'orders.created', Buffer.from('from upstream'));
      await channel.waitForConfirms();
    } finally {
      await publisher.close();
    }
    const downstreamUrl = new URL(testEnv().amqpUrl);
    const consumer = await amqp.connect(
      `amqp://${enc(testEnv().username)}:${enc(testEnv().password)}@${downstreamUrl.host}/${enc(vhost)}`,
    );
    try {
      const channel = await consumer.createChannel();
      const message = await eventually('the upstream message in the downstream queue', async () => {
        const got = await channel.get('federated', { noAck: true });
        return got === false ? undefined : got;
      });
      assert.equal(message.content.toString(), 'from upstream');
      assert.equal(message.fields.routingKey, 'orders.created');
    } finally {
      await consumer.close();
    }
  });

  it('makes no write while nothing changes', async () => {
    await assertNoBrokerWrites();
  });

  it('follows a change of its Secret within seconds, and restores drift', async () => {
    await mergeSecret('origin-uri', { uri: upstreamUri('?heartbeat=15') });
    await eventually(
      'the new URI on the broker',
      async () => {
        const value = (await rmq.get<{ value: { uri: string[] } }>(upstreamPath))?.value;
        return value?.uri[0] === upstreamUri('?heartbeat=15');
      },
      { timeoutMs: 15_000 },
    );
    // Right after an upstream changes, 3.10 answers 500 to another change while its links restart; retry.
    await eventually('a change to max-hops behind Warren’s back', async () => {
      const live = await rmq.get<{ value: Record<string, unknown> }>(upstreamPath);
      return (await rmq.call('PUT', upstreamPath, { value: { ...live?.value, 'max-hops': 5 } })).status < 300;
    });
    await eventually('max-hops restored', async () => {
      return (await rmq.get<{ value: Record<string, unknown> }>(upstreamPath))?.value['max-hops'] === 1;
    });
    const events = await core().listNamespacedEvent({ namespace: ns });
    const about = events.items.filter((e) => e.involvedObject.name === 'origin');
    assert.ok(about.some((e) => e.reason === 'Updated' && /: uri\.$/.test(e.message ?? '')));
    assert.ok(about.some((e) => e.reason === 'Restored' && /maxHops/.test(e.message ?? '')));
  });

  it('never shows the upstream URI or its password in logs, Events, statuses or metrics', async () => {
    const output = await operator.output(ns);
    assert.ok(output.includes('origin'), 'the output covers the federation');
    assert.doesNotMatch(output, new RegExp(linkPassword));
  });

  it('deletes the upstream with the object', async () => {
    await remove('Policy', ns, 'federate-events');
    await remove('Federation', ns, 'origin');
    await waitGone('Federation', ns, 'origin');
    assert.equal(await rmq.get(upstreamPath), undefined);
  });
});
