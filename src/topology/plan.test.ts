import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dependencyKey, planConverge, waitIsReported, writeEvent } from './plan.ts';
import { bindingKind } from './kinds/binding.ts';
import { exchangeKind } from './kinds/exchange.ts';
import { policyKind } from './kinds/policy.ts';
import { queueKind } from './kinds/queue.ts';
import { userKind } from './kinds/user.ts';
import { vhostKind } from './kinds/vhost.ts';
import { fakeSecrets, stateOf } from './kinds/testing.ts';
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
  destination_type: 'queue' as const,
  routing_key: 'k',
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
const events = {
  name: 'events',
  vhost: '/',
  type: 'topic',
  durable: true,
  auto_delete: false,
  internal: false,
  arguments: {},
};
const generic = <W, L>(kind: TopologyKind<never, W, L>) => kind as unknown as TopologyKind<unknown, W, L>;

describe('Converge planning', () => {
  it('makes no write for an object that matches', () => {
    const state = stateOf({ vhosts: [root], queues: [liveQueue] });
    assert.deepEqual(planConverge(generic(queueKind), queue, state, fakeSecrets, true), { type: 'in-sync' });
  });

  it('creates a missing object whose dependencies exist', () => {
    const plan = planConverge(generic(queueKind), queue, stateOf({ vhosts: [root] }), fakeSecrets, false);
    assert.ok(plan.type === 'write');
    assert.equal(plan.verb, 'create');
    assert.equal(plan.ops.length, 1);
  });

  it('waits, without writing, for dependencies that do not exist yet', () => {
    const plan = planConverge(
      generic(bindingKind),
      binding,
      stateOf({ vhosts: [root], exchanges: [events] }),
      fakeSecrets,
      false,
    );
    assert.ok(plan.type === 'waiting');
    assert.deepEqual(plan.missing, [{ type: 'queue', vhost: '/', name: 'orders' }]);
    assert.match(plan.message, /waits for queue "orders" in vhost "\/"/);
  });

  it('calls a write for an object that was ready a restore', () => {
    const missing = planConverge(generic(queueKind), queue, stateOf({ vhosts: [root] }), fakeSecrets, true);
    assert.ok(missing.type === 'write');
    assert.equal(missing.verb, 'restore');
    const changed = stateOf({
      vhosts: [root],
      policies: [{ ...policy, 'apply-to': 'queues', definition: { 'message-ttl': 2 } }],
    });
    const plan = planConverge(generic(policyKind), policy, changed, fakeSecrets, true);
    assert.ok(plan.type === 'write');
    assert.equal(plan.verb, 'restore');
    assert.deepEqual(plan.changes, ['definition']);
    assert.equal(
      writeEvent(plan.verb, 'policy "ttl"', plan.changes).message,
      'Restored policy "ttl", changed on the broker: definition.',
    );
  });

  it('passes conflicts through without a write', () => {
    const state = stateOf({ vhosts: [root], queues: [{ ...liveQueue, arguments: {} }] });
    assert.equal(planConverge(generic(queueKind), queue, state, fakeSecrets, false).type, 'conflict');
  });
});

describe('Dependencies', () => {
  it('are keyed exactly as the kinds that declare them key their broker objects', () => {
    assert.deepEqual(
      dependencyKey({ type: 'queue', vhost: '/', name: 'orders' }),
      queueKind.brokerKey(queue),
    );
    assert.deepEqual(
      dependencyKey({ type: 'exchange', vhost: '/', name: 'events' }),
      exchangeKind.brokerKey({
        vhost: '/',
        name: 'events',
        type: 'topic',
        durable: true,
        autoDelete: false,
        arguments: {},
      }),
    );
    assert.deepEqual(
      dependencyKey({ type: 'vhost', name: 'apps' }),
      vhostKind.brokerKey({
        name: 'apps',
        tags: [],
        defaultQueueType: undefined,
        limits: {},
        tracing: false,
      }),
    );
    assert.deepEqual(
      dependencyKey({ type: 'user', name: 'app' }),
      userKind.brokerKey({ name: 'app', credentials: { username: 'app' }, tags: [], limits: {} }),
    );
  });

  it('are not reported as a failure while they may still appear on their own', () => {
    assert.equal(waitIsReported(1_000, 1_000, 10_000), false);
    assert.equal(waitIsReported(1_000, 10_999, 10_000), false);
    assert.equal(waitIsReported(1_000, 11_000, 10_000), true);
  });
});
