// OperatorPolicy through the API server, checked on the broker and with a real AMQP client: a queue whose name
// matches gets the limit the operator policy sets (max-length 2: of 5 messages published, the queue holds 2).
// Drift is restored, a resync writes nothing, and deleting the object removes the operator policy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import {
  broker,
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
  assertNoBrokerWrites,
} from './harness.ts';

let operator: Operator;
let ns: string;
const vhost = `operator-policy-${Date.now()}`;
const rmq = broker();
const ref = { connectionSecret: { name: 'broker' } };
const path = `/api/operator-policies/${enc(vhost)}/cap-orders`;

interface LiveOperatorPolicy {
  pattern: string;
  'apply-to': string;
  priority: number;
  definition: Record<string, number>;
}

interface LiveQueue {
  operator_policy?: string;
  effective_policy_definition?: Record<string, unknown>;
}

function amqpUrl(): string {
  const url = new URL(testEnv().amqpUrl);
  url.pathname = `/${enc(vhost)}`;
  return url.toString();
}

before(async () => {
  ns = await createNamespace('topology-operator-policy');
  await createConnectionSecret(ns, 'broker');
  operator = await startOperator({ brokerRefreshInterval: '2s' });
  await create('Vhost', ns, 'vhost', { name: vhost, rabbitmqClusterReference: ref });
  await waitReady('Vhost', ns, 'vhost');
});

after(async () => {
  await operator.stop();
  await rmq.call('DELETE', `/api/vhosts/${enc(vhost)}`);
});

describe('OperatorPolicy', () => {
  it('imposes its limit on the queues it matches: of 5 messages, a queue capped at 2 holds 2', async () => {
    await create('OperatorPolicy', ns, 'cap-orders', {
      name: 'cap-orders',
      vhost,
      pattern: '^orders\\.',
      definition: { 'max-length': 2 },
      rabbitmqClusterReference: ref,
    });
    await waitReady('OperatorPolicy', ns, 'cap-orders');
    assert.deepEqual(await rmq.get<LiveOperatorPolicy>(path), {
      vhost,
      name: 'cap-orders',
      pattern: '^orders\\.',
      'apply-to': 'queues',
      priority: 0,
      definition: { 'max-length': 2 },
    });

    const connection = await amqp.connect(amqpUrl());
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue('orders.capped', { durable: true });
      await channel.assertQueue('billing.free', { durable: true });
      for (let i = 1; i <= 5; i++) {
        channel.sendToQueue('orders.capped', Buffer.from(`order ${i}`));
        channel.sendToQueue('billing.free', Buffer.from(`bill ${i}`));
      }
      await channel.waitForConfirms();
      assert.equal((await channel.checkQueue('orders.capped')).messageCount, 2);
      assert.equal((await channel.checkQueue('billing.free')).messageCount, 5, 'a queue it does not match');
      const oldest = await channel.get('orders.capped', { noAck: true });
      assert.ok(oldest !== false);
      assert.equal(oldest.content.toString(), 'order 4', 'the queue dropped the oldest messages');
    } finally {
      await connection.close().catch(() => undefined);
    }
    const queue = await eventually('the operator policy reported on the queue', async () => {
      const live = await rmq.get<LiveQueue>(`/api/queues/${enc(vhost)}/orders.capped`);
      return live?.operator_policy === 'cap-orders' ? live : undefined;
    });
    assert.equal(queue.effective_policy_definition?.['max-length'], 2);
  });

  it('makes no write while nothing changes', async () => {
    await assertNoBrokerWrites();
  });

  it('updates in place, restores changes and deletion behind its back, and is deleted with the object', async () => {
    await patchSpec('OperatorPolicy', ns, 'cap-orders', { priority: 3, definition: { 'max-length': 4 } });
    await eventually('the update on the broker', async () => {
      const live = await rmq.get<LiveOperatorPolicy>(path);
      return live?.priority === 3 && live.definition['max-length'] === 4 ? live : undefined;
    });

    const changed = await rmq.call('PUT', path, {
      pattern: '^orders\\.',
      'apply-to': 'queues',
      priority: 3,
      definition: { 'max-length': 100 },
    });
    assert.equal(changed.status, 204);
    await eventually('the changed definition restored', async () => {
      const live = await rmq.get<LiveOperatorPolicy>(path);
      return live?.definition['max-length'] === 4 ? live : undefined;
    });

    assert.equal((await rmq.call('DELETE', path)).status, 204);
    await eventually('the deleted operator policy restored', () => rmq.get<LiveOperatorPolicy>(path));

    await remove('OperatorPolicy', ns, 'cap-orders');
    await waitGone('OperatorPolicy', ns, 'cap-orders');
    assert.equal(await rmq.get(path), undefined);
    assert.ok(
      await rmq.get(`/api/queues/${enc(vhost)}/orders.capped`),
      'the queues it applied to are untouched',
    );
  });
});
