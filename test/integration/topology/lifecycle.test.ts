// Each topology kind created, updated and deleted through the API server, with the broker checked through
// the management API; routing proven with a real AMQP client.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import type { SnapshotCache } from '../../../src/rabbitmq/snapshot/index.ts';
import {
  broker,
  core,
  create,
  createConnectionSecret,
  enc,
  eventually,
  get,
  patchSpec,
  ready,
  remove,
  startOperator,
  waitGone,
  waitReady,
  waitReason,
  type Operator,
  createNamespace,
  testEnv,
} from './harness.ts';

let operator: Operator;
let ns: string;
const vhost = `lifecycle-${Date.now()}`;
const rmq = broker();
const ref = { connectionSecret: { name: 'broker' } };

function amqpUrl(user: string, password: string, vh = vhost): string {
  const url = new URL(testEnv().amqpUrl);
  return `amqp://${enc(user)}:${enc(password)}@${url.host}/${enc(vh)}`;
}

before(async () => {
  ns = await createNamespace('topology-lifecycle');
  await createConnectionSecret(ns, 'broker');
  operator = await startOperator({ dependencyGracePeriod: '5s' });
  await create('Vhost', ns, 'vhost', {
    name: vhost,
    tags: ['team-a'],
    limits: { queues: 100 },
    rabbitmqClusterReference: ref,
  });
  await waitReady('Vhost', ns, 'vhost');
});

after(async () => {
  await operator.stop();
});

describe('Vhost', () => {
  it('creates the vhost with its tags and limits, and updates them in place', async () => {
    const live = await rmq.get<{ tags: string[] }>(`/api/vhosts/${enc(vhost)}`);
    assert.deepEqual(live?.tags, ['team-a']);
    assert.deepEqual(await rmq.get(`/api/vhost-limits/${enc(vhost)}`), [
      { vhost, value: { 'max-queues': 100 } },
    ]);
    await patchSpec('Vhost', ns, 'vhost', {
      tags: ['team-a', 'prod'],
      limits: { queues: 50, connections: 10 },
    });
    await eventually('vhost updated', async () => {
      const limits = await rmq.get<{ value: Record<string, number> }[]>(`/api/vhost-limits/${enc(vhost)}`);
      const tags = (await rmq.get<{ tags: string[] }>(`/api/vhosts/${enc(vhost)}`))?.tags;
      return (
        limits?.[0]?.value['max-queues'] === 50 &&
        limits[0].value['max-connections'] === 10 &&
        tags?.length === 2
      );
    });
    await waitReady('Vhost', ns, 'vhost');
  });

  it('keeps a deleted Vhost while a queue in it holds messages, then deletes its queues and itself', async () => {
    const doomed = `${vhost}-doomed`;
    await create('Vhost', ns, 'doomed', { name: doomed, rabbitmqClusterReference: ref });
    await waitReady('Vhost', ns, 'doomed');
    await rmq.call('PUT', `/api/queues/${enc(doomed)}/kept`, { durable: true });
    const published = await rmq.call('POST', `/api/exchanges/${enc(doomed)}/amq.default/publish`, {
      routing_key: 'kept',
      payload: 'still wanted',
      payload_encoding: 'string',
      properties: {},
    });
    assert.deepEqual(published.body, { routed: true });

    await remove('Vhost', ns, 'doomed');
    // Until the broker has counted the message the count is unknown, which blocks too (DeletionPending).
    await waitReason('Vhost', ns, 'doomed', 'DeletionBlockedByMessages');
    assert.ok(await rmq.get(`/api/vhosts/${enc(doomed)}`), 'the vhost is kept');

    assert.equal((await rmq.call('DELETE', `/api/queues/${enc(doomed)}/kept/contents`)).status, 204);
    await waitGone('Vhost', ns, 'doomed');
    assert.equal(await rmq.get(`/api/vhosts/${enc(doomed)}`), undefined);
  });
});

describe('Routing through exchanges, queues and bindings', () => {
  const queues = [
    'q-direct',
    'q-topic-a',
    'q-topic-b',
    'q-fanout-1',
    'q-fanout-2',
    'q-headers-eu',
    'q-headers-us',
  ];

  before(async () => {
    for (const name of queues)
      await create('Queue', ns, name, { name, vhost, rabbitmqClusterReference: ref });
    for (const type of ['direct', 'topic', 'fanout', 'headers']) {
      await create('Exchange', ns, `x-${type}`, {
        name: `x-${type}`,
        vhost,
        type,
        rabbitmqClusterReference: ref,
      });
    }
    const bind = (name: string, source: string, destination: string, extra: Record<string, unknown> = {}) =>
      create('Binding', ns, name, {
        vhost,
        source,
        destination,
        destinationType: 'queue',
        rabbitmqClusterReference: ref,
        ...extra,
      });
    await bind('b-direct', 'x-direct', 'q-direct', { routingKey: 'orders' });
    await bind('b-topic-a', 'x-topic', 'q-topic-a', { routingKey: 'eu.*' });
    await bind('b-topic-b', 'x-topic', 'q-topic-b', { routingKey: '#.paid' });
    await bind('b-fanout-1', 'x-fanout', 'q-fanout-1');
    await bind('b-fanout-2', 'x-fanout', 'q-fanout-2');
    await bind('b-headers-eu', 'x-headers', 'q-headers-eu', {
      arguments: { 'x-match': 'all', region: 'eu' },
    });
    await bind('b-headers-us', 'x-headers', 'q-headers-us', {
      arguments: { 'x-match': 'all', region: 'us' },
    });
    for (const name of [
      'b-direct',
      'b-topic-a',
      'b-topic-b',
      'b-fanout-1',
      'b-fanout-2',
      'b-headers-eu',
      'b-headers-us',
    ]) {
      await waitReady('Binding', ns, name);
    }
  });

  it('declares durable queues and exchanges by default', async () => {
    const q = await rmq.get<{ durable: boolean }>(`/api/queues/${enc(vhost)}/q-direct`);
    const x = await rmq.get<{ durable: boolean; type: string }>(`/api/exchanges/${enc(vhost)}/x-topic`);
    assert.equal(q?.durable, true);
    assert.equal(x?.durable, true);
    assert.equal(x.type, 'topic');
  });

  it('delivers messages to exactly the queues the bindings say', async () => {
    const connection = await amqp.connect(amqpUrl(testEnv().username, testEnv().password));
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish('x-direct', 'orders', Buffer.from('direct'));
      channel.publish('x-direct', 'other', Buffer.from('dropped'));
      channel.publish('x-topic', 'eu.paid', Buffer.from('topic-both'));
      channel.publish('x-topic', 'us.orders.paid', Buffer.from('topic-b'));
      channel.publish('x-fanout', 'ignored', Buffer.from('fanout'));
      channel.publish('x-headers', '', Buffer.from('headers-eu'), { headers: { region: 'eu' } });
      await channel.waitForConfirms();
      const counts: Record<string, number> = {};
      for (const q of queues) counts[q] = (await channel.checkQueue(q)).messageCount;
      assert.deepEqual(counts, {
        'q-direct': 1,
        'q-topic-a': 1,
        'q-topic-b': 2,
        'q-fanout-1': 1,
        'q-fanout-2': 1,
        'q-headers-eu': 1,
        'q-headers-us': 0,
      });
      for (const q of queues) await channel.purgeQueue(q);
    } finally {
      await connection.close();
    }
  });

  it('deletes exactly its own binding and never a neighbour with other arguments', async () => {
    await remove('Binding', ns, 'b-headers-us');
    await waitGone('Binding', ns, 'b-headers-us');
    const left = await rmq.get<{ destination: string }[]>(
      `/api/bindings/${enc(vhost)}/e/x-headers/q/q-headers-us`,
    );
    assert.deepEqual(left, []);
    const kept = await rmq.get<{ destination: string }[]>(
      `/api/bindings/${enc(vhost)}/e/x-headers/q/q-headers-eu`,
    );
    assert.equal(kept?.length, 1);
  });

  it('keeps a binding that another Binding still declares', async () => {
    await create('Binding', ns, 'b-direct-twin', {
      vhost,
      source: 'x-direct',
      destination: 'q-direct',
      destinationType: 'queue',
      routingKey: 'orders',
      rabbitmqClusterReference: ref,
    });
    await waitReady('Binding', ns, 'b-direct-twin');
    await remove('Binding', ns, 'b-direct-twin');
    await waitGone('Binding', ns, 'b-direct-twin');
    const listed = await rmq.get<unknown[]>(`/api/bindings/${enc(vhost)}/e/x-direct/q/q-direct`);
    assert.equal(listed?.length, 1);
  });

  it('reports an exchange of another type as a conflict and leaves it alone', async () => {
    await create('Exchange', ns, 'x-topic-as-fanout', {
      name: 'x-topic',
      vhost,
      type: 'fanout',
      rabbitmqClusterReference: ref,
    });
    const obj = await waitReason('Exchange', ns, 'x-topic-as-fanout', 'ExchangeTypeConflict');
    assert.equal(ready(obj)?.status, 'False');
    assert.match(ready(obj)?.message ?? '', /exists with type topic; the spec asks for fanout/);
    const x = await rmq.get<{ type: string }>(`/api/exchanges/${enc(vhost)}/x-topic`);
    assert.equal(x?.type, 'topic');
    await remove('Exchange', ns, 'x-topic-as-fanout');
    await waitGone('Exchange', ns, 'x-topic-as-fanout');
    // The other Exchange still declares it, so it stays.
    assert.ok(await rmq.get(`/api/exchanges/${enc(vhost)}/x-topic`));
  });
});

describe('Dependencies', () => {
  const warningsAbout = async (name: string) => {
    const events = await core().listNamespacedEvent({ namespace: ns });
    return events.items.filter((e) => e.involvedObject.name === name && e.type === 'Warning');
  };

  it('lets a binding applied before its queue wait quietly, and readies it once the queue exists', async () => {
    await create('Binding', ns, 'b-early', {
      vhost,
      source: 'x-early',
      destination: 'q-early',
      destinationType: 'queue',
      rabbitmqClusterReference: ref,
    });
    await create('Exchange', ns, 'x-early', { name: 'x-early', vhost, rabbitmqClusterReference: ref });
    await create('Queue', ns, 'q-early', { name: 'q-early', vhost, rabbitmqClusterReference: ref });
    await waitReady('Binding', ns, 'b-early');
    const bindings = await rmq.get<unknown[]>(`/api/bindings/${enc(vhost)}/e/x-early/q/q-early`);
    assert.equal(bindings?.length, 1);
    // A wait shorter than the grace period is not a failure: no Warning and no failed status on the way.
    assert.deepEqual(await warningsAbout('b-early'), []);
  });

  it('reports a dependency that does not appear within the grace period, and recovers when it does', async () => {
    await create('Binding', ns, 'b-orphan', {
      vhost,
      source: 'x-early',
      destination: 'q-later',
      destinationType: 'queue',
      rabbitmqClusterReference: ref,
    });
    const waiting = await waitReason('Binding', ns, 'b-orphan', 'DependencyNotFound');
    assert.match(ready(waiting)?.message ?? '', /waits for queue "q-later"/);
    await eventually('a DependencyNotFound Warning', async () => {
      const warnings = await warningsAbout('b-orphan');
      return warnings.some((e) => e.reason === 'DependencyNotFound') ? true : undefined;
    });
    await create('Queue', ns, 'q-later', { name: 'q-later', vhost, rabbitmqClusterReference: ref });
    await waitReady('Binding', ns, 'b-orphan');
  });
});

describe('Queue', () => {
  it('reports a queue that exists with another type as QueuePropertiesImmutable and never recreates it', async () => {
    await rmq.call('PUT', `/api/queues/${enc(vhost)}/q-classic`, { durable: true, arguments: {} });
    await create('Queue', ns, 'q-classic', {
      name: 'q-classic',
      vhost,
      type: 'quorum',
      rabbitmqClusterReference: ref,
    });
    const obj = await waitReason('Queue', ns, 'q-classic', 'QueuePropertiesImmutable');
    assert.match(ready(obj)?.message ?? '', /type is classic, the spec asks for quorum/);
    const q = await rmq.get<{ type: string }>(`/api/queues/${enc(vhost)}/q-classic`);
    assert.equal(q?.type, 'classic');
  });

  it("keeps a deleted Queue's queue and its messages while it holds messages", async () => {
    await create('Queue', ns, 'q-data', {
      name: 'q-data',
      vhost,
      type: 'quorum',
      rabbitmqClusterReference: ref,
    });
    await waitReady('Queue', ns, 'q-data');
    const connection = await amqp.connect(amqpUrl(testEnv().username, testEnv().password));
    const channel = await connection.createConfirmChannel();
    for (let i = 0; i < 3; i++) channel.sendToQueue('q-data', Buffer.from(`m${i}`), { persistent: true });
    await channel.waitForConfirms();
    await connection.close();

    await remove('Queue', ns, 'q-data');
    const obj = await waitReason('Queue', ns, 'q-data', 'DeletionBlockedByMessages');
    assert.ok(obj.metadata.deletionTimestamp);
    const q = await eventually('message count', async () => {
      const live = await rmq.get<{ messages?: number }>(`/api/queues/${enc(vhost)}/q-data`);
      return live?.messages === 3 ? live : undefined;
    });
    assert.equal(q.messages, 3);
    const events = await core().listNamespacedEvent({ namespace: ns });
    assert.ok(events.items.some((e) => e.reason === 'DeletionBlockedByMessages'));

    // The user decides: delete it with its data.
    await patchSpec('Queue', ns, 'q-data', { deletionPolicy: 'delete-with-data' });
    await waitGone('Queue', ns, 'q-data');
    assert.equal(await rmq.get(`/api/queues/${enc(vhost)}/q-data`), undefined);
  });

  it("keeps a classic queue with messages through the broker's if-empty check, and deletes it once drained", async () => {
    await create('Queue', ns, 'q-drained', {
      name: 'q-drained',
      vhost,
      type: 'classic',
      rabbitmqClusterReference: ref,
    });
    await waitReady('Queue', ns, 'q-drained');
    const published = await rmq.call('POST', `/api/exchanges/${enc(vhost)}/amq.default/publish`, {
      routing_key: 'q-drained',
      payload: 'still wanted',
      payload_encoding: 'string',
      properties: {},
    });
    assert.deepEqual(published.body, { routed: true });

    await remove('Queue', ns, 'q-drained');
    await waitReason('Queue', ns, 'q-drained', 'DeletionBlockedByMessages');
    assert.ok(await rmq.get(`/api/queues/${enc(vhost)}/q-drained`), 'the queue is kept');

    assert.equal((await rmq.call('DELETE', `/api/queues/${enc(vhost)}/q-drained/contents`)).status, 204);
    await waitGone('Queue', ns, 'q-drained');
    assert.equal(await rmq.get(`/api/queues/${enc(vhost)}/q-drained`), undefined);
  });

  it('deletes an empty queue', async () => {
    await create('Queue', ns, 'q-empty', { name: 'q-empty', vhost, rabbitmqClusterReference: ref });
    await waitReady('Queue', ns, 'q-empty');
    await remove('Queue', ns, 'q-empty');
    await waitGone('Queue', ns, 'q-empty');
    assert.equal(await rmq.get(`/api/queues/${enc(vhost)}/q-empty`), undefined);
  });
});

describe('Dead-lettering', () => {
  it('routes rejected messages to a dead-letter exchange set by queue arguments or by a Policy', async () => {
    await create('Exchange', ns, 'dlx', {
      name: 'dlx',
      vhost,
      type: 'fanout',
      rabbitmqClusterReference: ref,
    });
    await create('Queue', ns, 'dead', { name: 'dead', vhost, rabbitmqClusterReference: ref });
    await create('Binding', ns, 'dead', {
      vhost,
      source: 'dlx',
      destination: 'dead',
      destinationType: 'queue',
      rabbitmqClusterReference: ref,
    });
    await create('Queue', ns, 'work-args', {
      name: 'work-args',
      vhost,
      arguments: { 'x-dead-letter-exchange': 'dlx' },
      rabbitmqClusterReference: ref,
    });
    await create('Queue', ns, 'work-policy', { name: 'work-policy', vhost, rabbitmqClusterReference: ref });
    await create('Policy', ns, 'dlx', {
      name: 'dlx',
      vhost,
      pattern: '^work-policy$',
      applyTo: 'queues',
      definition: { 'dead-letter-exchange': 'dlx' },
      rabbitmqClusterReference: ref,
    });
    for (const [kind, name] of [
      ['Binding', 'dead'],
      ['Queue', 'work-args'],
      ['Queue', 'work-policy'],
      ['Policy', 'dlx'],
    ] as const) {
      await waitReady(kind, ns, name);
    }
    await eventually(
      'policy applied',
      async () =>
        (await rmq.get<{ policy?: string }>(`/api/queues/${enc(vhost)}/work-policy`))?.policy === 'dlx',
    );

    const connection = await amqp.connect(amqpUrl(testEnv().username, testEnv().password));
    try {
      const channel = await connection.createConfirmChannel();
      channel.sendToQueue('work-args', Buffer.from('a'));
      channel.sendToQueue('work-policy', Buffer.from('b'));
      await channel.waitForConfirms();
      for (const q of ['work-args', 'work-policy']) {
        const message = await eventually(`message in ${q}`, async () => (await channel.get(q)) || undefined);
        channel.reject(message, false);
      }
      await eventually('dead letters', async () => (await channel.checkQueue('dead')).messageCount === 2);
    } finally {
      await connection.close();
    }
  });
});

describe('User and Permission', () => {
  it('generates credentials once, and a read-only user can consume but not publish', async () => {
    await create('User', ns, 'reader', { tags: ['management'], rabbitmqClusterReference: ref });
    const user = await waitReady('User', ns, 'reader');
    assert.equal(user.status?.credentials?.name, 'reader-user-credentials');
    const secret = await core().readNamespacedSecret({ namespace: ns, name: 'reader-user-credentials' });
    const username = Buffer.from(secret.data?.username ?? '', 'base64').toString();
    const password = Buffer.from(secret.data?.password ?? '', 'base64').toString();
    assert.equal(user.status.username, username);
    assert.equal(password.length, 32);
    const live = await rmq.get<{ tags: string[] }>(`/api/users/${enc(username)}`);
    assert.deepEqual(live?.tags, ['management']);

    await create('Permission', ns, 'reader', {
      userReference: { name: 'reader' },
      vhost,
      permissions: { configure: '', write: '', read: '.*' },
      rabbitmqClusterReference: ref,
    });
    await waitReady('Permission', ns, 'reader');

    const connection = await amqp.connect(amqpUrl(username, password));
    try {
      const reading = await connection.createChannel();
      await reading.checkQueue('q-direct');
      const writing = await connection.createConfirmChannel();
      const closed = new Promise<Error>((resolve) => writing.on('error', resolve));
      writing.publish('x-direct', 'orders', Buffer.from('not allowed'));
      const error = await closed;
      assert.match(error.message, /ACCESS_REFUSED/);
    } finally {
      await connection.close().catch(() => undefined);
    }
  });

  it('rotates the password on the broker when an imported Secret changes', async () => {
    await core().createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'app-credentials' },
        stringData: { username: `app-${vhost}`, password: 'first-password-1' },
      },
    });
    await create('User', ns, 'app', {
      importCredentialsSecret: { name: 'app-credentials' },
      rabbitmqClusterReference: ref,
    });
    await create('Permission', ns, 'app', {
      user: `app-${vhost}`,
      vhost,
      permissions: { configure: '.*', write: '.*', read: '.*' },
      rabbitmqClusterReference: ref,
    });
    await waitReady('User', ns, 'app');
    await waitReady('Permission', ns, 'app');
    await (await amqp.connect(amqpUrl(`app-${vhost}`, 'first-password-1'))).close();

    await core().replaceNamespacedSecret({
      namespace: ns,
      name: 'app-credentials',
      body: {
        metadata: { name: 'app-credentials', labels: { 'warren.dev/watched': 'true' } },
        stringData: { username: `app-${vhost}`, password: 'second-password-2' },
      },
    });
    await eventually('new password accepted', async () => {
      const connection = await amqp
        .connect(amqpUrl(`app-${vhost}`, 'second-password-2'))
        .catch(() => undefined);
      await connection?.close();
      return connection !== undefined;
    });
  });

  it('deletes the broker user and its permissions with the resources', async () => {
    const username = (await get('User', ns, 'reader'))?.status?.username ?? '';
    await remove('Permission', ns, 'reader');
    await waitGone('Permission', ns, 'reader');
    assert.equal(await rmq.get(`/api/permissions/${enc(vhost)}/${enc(username)}`), undefined);
    await remove('User', ns, 'reader');
    await waitGone('User', ns, 'reader');
    assert.equal(await rmq.get(`/api/users/${enc(username)}`), undefined);
  });
});

describe('Brokers no object uses', () => {
  it('frees the snapshot and clients of a broker once its last object is gone', async () => {
    // The same broker under another address is another broker to the operator.
    const other = { ...testEnv(), managementUrl: testEnv().managementUrl.replace('127.0.0.1', 'localhost') };
    await createConnectionSecret(ns, 'other-address', other);
    await create('Exchange', ns, 'x-elsewhere', {
      name: 'x-elsewhere',
      vhost,
      rabbitmqClusterReference: { connectionSecret: { name: 'other-address' } },
    });
    await waitReady('Exchange', ns, 'x-elsewhere');
    const snapshots = operator.topology.runtime.snapshots as SnapshotCache;
    const brokerId = snapshots.brokers.find((id) => id.includes('localhost'));
    assert.ok(brokerId, `a snapshot of the other address among ${snapshots.brokers.join(', ')}`);

    await remove('Exchange', ns, 'x-elsewhere');
    await waitGone('Exchange', ns, 'x-elsewhere');
    await eventually(
      'the snapshot freed (one refresh interval later)',
      () => !snapshots.brokers.includes(brokerId),
    );
    assert.ok(snapshots.brokers.length > 0, 'the broker other objects use is kept');
  });
});

describe('Secrets', () => {
  it('never shows a password or password hash in logs, Events, status or metrics', async () => {
    const output = await operator.output(ns);
    const users = (await rmq.get<{ name: string; password_hash: string }[]>('/api/users')) ?? [];
    const secrets = [
      testEnv().password,
      'first-password-1',
      'second-password-2',
      ...users.map((u) => u.password_hash),
    ];
    const generated = await core().listNamespacedSecret({ namespace: ns });
    for (const s of generated.items) {
      if (s.data?.password) secrets.push(Buffer.from(s.data.password, 'base64').toString());
    }
    for (const secret of secrets.filter((s) => s.length >= 8)) {
      assert.equal(output.includes(secret), false, 'a credential appears in the operator output');
    }
    assert.ok(output.length > 1000, 'the scan covers real output');
  });
});
