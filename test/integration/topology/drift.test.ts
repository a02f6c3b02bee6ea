// Drift: objects deleted or changed on the broker behind Warren's back come back within the refresh
// interval (2 s in these tests), each with an Event saying what was restored; an unchanged set is left alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  broker,
  core,
  create,
  createConnectionSecret,
  enc,
  eventually,
  startOperator,
  waitReady,
  type Operator,
  createNamespace,
  assertNoBrokerWrites,
} from './harness.ts';

let operator: Operator;
let ns: string;
const vhost = `drift-${Date.now()}`;
const rmq = broker();
const ref = { connectionSecret: { name: 'broker' } };

before(async () => {
  ns = await createNamespace('topology-drift');
  await createConnectionSecret(ns, 'broker');
  operator = await startOperator({ brokerRefreshInterval: '2s' });
  await create('Vhost', ns, 'vhost', { name: vhost, rabbitmqClusterReference: ref });
  await create('Exchange', ns, 'events', {
    name: 'events',
    vhost,
    type: 'topic',
    rabbitmqClusterReference: ref,
  });
  await create('Queue', ns, 'orders', { name: 'orders', vhost, rabbitmqClusterReference: ref });
  await create('Binding', ns, 'orders', {
    vhost,
    source: 'events',
    destination: 'orders',
    destinationType: 'queue',
    routingKey: 'order.*',
    rabbitmqClusterReference: ref,
  });
  await create('Policy', ns, 'limit', {
    name: 'limit',
    vhost,
    pattern: '^orders$',
    applyTo: 'queues',
    definition: { 'max-length': 1000 },
    rabbitmqClusterReference: ref,
  });
  for (const [kind, name] of [
    ['Vhost', 'vhost'],
    ['Exchange', 'events'],
    ['Queue', 'orders'],
    ['Binding', 'orders'],
    ['Policy', 'limit'],
  ] as const) {
    await waitReady(kind, ns, name);
  }
});

after(async () => {
  await operator.stop();
});

describe('Drift correction', () => {
  it('makes no write while nothing changes', async () => {
    await assertNoBrokerWrites();
  });

  it('restores a deleted queue, a deleted binding and a changed policy, with an Event for each', async () => {
    const bindings = `/api/bindings/${enc(vhost)}/e/events/q/orders`;
    const [binding] = (await rmq.get<{ properties_key: string }[]>(bindings)) ?? [];
    assert.ok(binding);
    assert.equal((await rmq.call('DELETE', `${bindings}/${enc(binding.properties_key)}`)).status, 204);
    assert.equal((await rmq.call('DELETE', `/api/queues/${enc(vhost)}/orders`)).status, 204);
    const changed = await rmq.call('PUT', `/api/policies/${enc(vhost)}/limit`, {
      pattern: '^orders$',
      'apply-to': 'queues',
      definition: { 'max-length': 1 },
      priority: 0,
    });
    assert.equal(changed.status, 204);

    await eventually('queue, binding and policy restored', async () => {
      const queue = await rmq.get(`/api/queues/${enc(vhost)}/orders`);
      const restored = await rmq.get<unknown[]>(bindings);
      const policy = await rmq.get<{ definition: Record<string, number> }>(
        `/api/policies/${enc(vhost)}/limit`,
      );
      return queue !== undefined && restored?.length === 1 && policy?.definition['max-length'] === 1000;
    });
    const events = await eventually('Restored events', async () => {
      const list = await core().listNamespacedEvent({ namespace: ns });
      const restored = list.items.filter((e) => e.reason === 'Restored');
      const names = new Set(restored.map((e) => e.involvedObject.name));
      return names.has('orders') && names.has('limit') ? restored : undefined;
    });
    assert.ok(events.some((e) => /had been deleted on the broker/.test(e.message ?? '')));
    assert.ok(events.some((e) => /changed on the broker: definition/.test(e.message ?? '')));
  });
});
