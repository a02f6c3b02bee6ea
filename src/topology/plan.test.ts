import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planConverge, writeEvent } from './plan.ts';
import { brokerState } from './state.ts';
import { bindingKind } from './kinds/binding.ts';
import { policyKind } from './kinds/policy.ts';
import { queueKind } from './kinds/queue.ts';
import { fakeSecrets } from './kinds/testing.ts';
import type { TopologyKind } from './kinds/types.ts';

const queue = {
  vhost: '/',
  name: 'orders',
  type: 'quorum',
  durable: true,
  autoDelete: false,
  arguments: {},
  deleteIfUnused: false,
};
const liveQueue = {
  name: 'orders',
  vhost: '/',
  durable: true,
  auto_delete: false,
  arguments: { 'x-queue-type': 'quorum' },
};
const binding = {
  vhost: '/',
  source: 'events',
  destination: 'orders',
  destinationType: 'queue' as const,
  routingKey: 'k',
  arguments: {},
};
const policy = {
  vhost: '/',
  name: 'ttl',
  pattern: '^q',
  applyTo: 'queues',
  priority: 0,
  definition: { 'message-ttl': 1 },
};
const root = { name: '/' };
const asKind = <W, L>(kind: TopologyKind<never, W, L>) => kind as unknown as TopologyKind<unknown, W, L>;

describe('Converge planning', () => {
  it('makes no request for an object that matches', () => {
    const state = brokerState({ vhosts: [root], queues: [liveQueue] });
    assert.deepEqual(planConverge(asKind(queueKind), queue, state, fakeSecrets, true), { type: 'in-sync' });
  });

  it('creates a missing object whose dependencies exist', () => {
    const plan = planConverge(asKind(queueKind), queue, brokerState({ vhosts: [root] }), fakeSecrets, false);
    assert.ok(plan.type === 'write');
    assert.equal(plan.verb, 'create');
    assert.equal(plan.requests.length, 1);
  });

  it('waits, without writing, for dependencies that do not exist yet', () => {
    const state = brokerState({
      vhosts: [root],
      exchanges: [{ name: 'events', vhost: '/', type: 'topic', durable: true, auto_delete: false }],
    });
    const plan = planConverge(asKind(bindingKind), binding, state, fakeSecrets, false);
    assert.ok(plan.type === 'waiting');
    assert.deepEqual(plan.missing, [{ type: 'queue', vhost: '/', name: 'orders' }]);
    assert.match(plan.message, /waits for queue "orders" in vhost "\/"/);
  });

  it('calls a write for an object that was ready a restore', () => {
    const missing = planConverge(
      asKind(queueKind),
      queue,
      brokerState({ vhosts: [root] }),
      fakeSecrets,
      true,
    );
    assert.ok(missing.type === 'write');
    assert.equal(missing.verb, 'restore');
    const changed = brokerState({
      vhosts: [root],
      policies: [{ ...policy, 'apply-to': 'queues', definition: { 'message-ttl': 2 } }],
    });
    const plan = planConverge(asKind(policyKind), policy, changed, fakeSecrets, true);
    assert.ok(plan.type === 'write');
    assert.equal(plan.verb, 'restore');
    assert.deepEqual(plan.changes, ['definition']);
    assert.equal(
      writeEvent(plan.verb, 'policy "ttl"', plan.changes).message,
      'Restored policy "ttl", changed on the broker: definition.',
    );
  });

  it('passes conflicts through without a write', () => {
    const state = brokerState({ vhosts: [root], queues: [{ ...liveQueue, arguments: {} }] });
    const plan = planConverge(asKind(queueKind), queue, state, fakeSecrets, false);
    assert.equal(plan.type, 'conflict');
  });
});
