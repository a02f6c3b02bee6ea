// TopicPermission through the API server, checked on the broker and with a real AMQP client: a publish to a
// topic exchange with a routing key outside the user's write pattern is refused, one inside it is delivered.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import {
  broker,
  core,
  create,
  createConnectionSecret,
  createNamespace,
  enc,
  eventually,
  patchSpec,
  remove,
  startOperator,
  testEnv,
  waitGone,
  waitReady,
  type Operator,
} from './harness.ts';

let operator: Operator;
let ns: string;
const vhost = `topic-permission-${Date.now()}`;
const rmq = broker();
const ref = { connectionSecret: { name: 'broker' } };

function amqpUrl(user: string, password: string): string {
  const url = new URL(testEnv().amqpUrl);
  return `amqp://${enc(user)}:${enc(password)}@${url.host}/${enc(vhost)}`;
}

interface LiveTopicPermission {
  exchange: string;
  write: string;
  read: string;
}

before(async () => {
  ns = await createNamespace('topology-topic-permission');
  await createConnectionSecret(ns, 'broker');
  operator = await startOperator({ dependencyGracePeriod: '5s' });
  await create('Vhost', ns, 'vhost', { name: vhost, rabbitmqClusterReference: ref });
  await create('Exchange', ns, 'events', {
    name: 'events',
    vhost,
    type: 'topic',
    rabbitmqClusterReference: ref,
  });
  await create('Queue', ns, 'all-events', {
    name: 'all-events',
    vhost,
    type: 'classic',
    rabbitmqClusterReference: ref,
  });
  await create('Binding', ns, 'all-events', {
    vhost,
    source: 'events',
    destination: 'all-events',
    destinationType: 'queue',
    routingKey: '#',
    rabbitmqClusterReference: ref,
  });
  await create('User', ns, 'publisher', { rabbitmqClusterReference: ref });
  await create('Permission', ns, 'publisher', {
    userReference: { name: 'publisher' },
    vhost,
    permissions: { configure: '', write: '.*', read: '.*' },
    rabbitmqClusterReference: ref,
  });
  for (const [kind, name] of [
    ['Vhost', 'vhost'],
    ['Exchange', 'events'],
    ['Queue', 'all-events'],
    ['Binding', 'all-events'],
    ['User', 'publisher'],
    ['Permission', 'publisher'],
  ] as const) {
    await waitReady(kind, ns, name);
  }
});

after(async () => {
  await operator.stop();
  await rmq.call('DELETE', `/api/vhosts/${enc(vhost)}`);
});

describe('TopicPermission', () => {
  it('lets a user publish on a topic exchange only with routing keys its write pattern matches', async () => {
    await create('TopicPermission', ns, 'publisher-events', {
      userReference: { name: 'publisher' },
      vhost,
      permissions: { exchange: 'events', write: '^orders\\.', read: '' },
      rabbitmqClusterReference: ref,
    });
    const user = await waitReady('User', ns, 'publisher');
    await waitReady('TopicPermission', ns, 'publisher-events');
    const username = user.status?.username ?? '';
    assert.deepEqual(
      await rmq.get<LiveTopicPermission[]>(`/api/topic-permissions/${enc(vhost)}/${enc(username)}`),
      [{ user: username, vhost, exchange: 'events', write: '^orders\\.', read: '' }],
    );

    const secret = await core().readNamespacedSecret({ namespace: ns, name: 'publisher-user-credentials' });
    const password = Buffer.from(secret.data?.password ?? '', 'base64').toString();
    const connection = await amqp.connect(amqpUrl(username, password));
    try {
      const inside = await connection.createConfirmChannel();
      inside.publish('events', 'orders.created', Buffer.from('order 1'));
      await inside.waitForConfirms();
      const delivered = await eventually('the message inside the pattern in the queue', async () => {
        const message = await inside.get('all-events', { noAck: true });
        return message === false ? undefined : message;
      });
      assert.equal(delivered.fields.routingKey, 'orders.created');
      assert.equal(delivered.content.toString(), 'order 1');

      const outside = await connection.createConfirmChannel();
      const refused = new Promise<Error>((resolve) => outside.on('error', resolve));
      outside.publish('events', 'billing.paid', Buffer.from('not allowed'));
      assert.match((await refused).message, /ACCESS_REFUSED/);
      assert.equal(
        await inside.get('all-events', { noAck: true }),
        false,
        'nothing outside the pattern arrived',
      );
    } finally {
      await connection.close().catch(() => undefined);
    }
  });

  it('updates the patterns in place, restores them after drift, and deletes them with the object', async () => {
    const user = await waitReady('User', ns, 'publisher');
    const path = `/api/topic-permissions/${enc(vhost)}/${enc(user.status?.username ?? '')}`;
    await patchSpec('TopicPermission', ns, 'publisher-events', {
      permissions: { exchange: 'events', write: '^(orders|billing)\\.', read: '.*' },
    });
    await eventually('the new patterns on the broker', async () => {
      const live = await rmq.get<LiveTopicPermission[]>(path);
      return live?.[0]?.write === '^(orders|billing)\\.' && live[0].read === '.*' ? live : undefined;
    });

    await rmq.call('DELETE', `${path}/events`);
    await eventually('the deleted topic permission restored', async () => {
      const live = await rmq.get<LiveTopicPermission[]>(path);
      return live?.length === 1 ? live : undefined;
    });

    await remove('TopicPermission', ns, 'publisher-events');
    await waitGone('TopicPermission', ns, 'publisher-events');
    // The broker lists none (or answers 404 once the user has no topic permission in the vhost left).
    assert.deepEqual((await rmq.get<LiveTopicPermission[]>(path)) ?? [], []);
  });
});
