import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerError } from '../../rabbitmq/errors.ts';
import type { ManagementClient } from '../../rabbitmq/management/client.ts';
import type { BrokerOp } from '../../rabbitmq/operations.ts';
import type { QueueDetails } from '../../rabbitmq/types.ts';
import type { ReconcileContext } from '../../runtime/controller.ts';
import type { KubeClient } from '../../runtime/kube-client.ts';
import { createLogger } from '../../runtime/logger.ts';
import type { KubeObject } from '../../runtime/resource.ts';
import { BrokerSlots } from '../broker-slots.ts';
import { DependencyIndex, targets } from '../dependencies.ts';
import type { AnyTopologyKind } from '../kinds/index.ts';
import { queueKind } from '../kinds/queue.ts';
import { superStreamKind } from '../kinds/super-stream.ts';
import { fakeSecrets, noReferences, stateOf } from '../kinds/testing.ts';
import type { TopologyObject } from '../kinds/types.ts';
import type { Definitions } from '../../rabbitmq/types.ts';
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import { topologyFinalizer, type TopologyRuntime } from './context.ts';
import { createTopologyReconciler } from './reconcile.ts';

const log = createLogger({ level: 'silent' });
const key = { namespace: 'ns', name: 'orders' };

function queue(overrides: Partial<TopologyObject['metadata']> = {}, status?: TopologyObject['status']) {
  return {
    apiVersion: 'warren.dev/v1alpha1',
    kind: 'Queue',
    metadata: {
      name: 'orders',
      namespace: 'ns',
      uid: 'u1',
      generation: 1,
      resourceVersion: '1',
      ...overrides,
    },
    spec: { name: 'orders', vhost: 'v', type: 'quorum', rabbitmqClusterReference: { name: 'broker' } },
    ...(status === undefined ? {} : { status }),
  } as TopologyObject;
}

const withVhost: Definitions = { vhosts: [{ name: 'v' }] };

/** A reconciler for Queue (or another kind) against a fake broker (snapshot and client) and a fake API server. */
function harness(
  options: { definitions?: Definitions; fail?: Error; fresh?: QueueDetails; kind?: AnyTopologyKind } = {},
) {
  const applied: BrokerOp[] = [];
  const statuses: Record<string, unknown>[] = [];
  const events: { type: string; reason: string }[] = [];
  const patches: unknown[] = [];
  let snapshotReads = 0;
  const client = {
    brokerId: 'http://broker:15672',
    apply: (op: BrokerOp) => {
      if (options.fail !== undefined) return Promise.reject(options.fail);
      applied.push(op);
      return Promise.resolve(true);
    },
    getQueue: () => Promise.resolve(options.fresh),
  } as unknown as ManagementClient;
  const kube = {
    withSignal: () => kube,
    jsonPatch: (_resource: unknown, _key: unknown, patch: unknown) => {
      patches.push(patch);
      const removing = JSON.stringify(patch).includes('"remove"');
      return Promise.resolve({
        ...current,
        metadata: { ...current.metadata, finalizers: removing ? [] : [topologyFinalizer] },
      });
    },
    mergePatch: (_resource: unknown, _key: unknown, body: { status: Record<string, unknown> }) => {
      statuses.push(body.status);
      return Promise.resolve({ metadata: { resourceVersion: String(statuses.length + 1) } });
    },
  } as unknown as KubeClient;
  const record = (type: string) => (_obj: KubeObject, reason: string) => events.push({ type, reason });
  const rt: TopologyRuntime = {
    manager: {
      log,
      client: kube,
      events: {
        normal: record('Normal'),
        warning: record('Warning'),
        emit: (_obj: KubeObject, e: { type: string; reason: string }) =>
          events.push({ type: e.type, reason: e.reason }),
      } as unknown as TopologyRuntime['manager']['events'],
    },
    connections: {
      resolve: () =>
        Promise.resolve({
          ok: true,
          endpoint: { url: 'http://broker:15672', username: 'u', password: 'p' },
          secret: { namespace: 'ns', name: 'broker-default-user' },
        }),
      secret: () => Promise.resolve(undefined),
    },
    clients: { get: () => client },
    brokers: { use: () => undefined, forget: () => undefined },
    snapshots: {
      get: () => {
        snapshotReads++;
        return Promise.resolve(stateOf(options.definitions ?? withVhost) as never);
      },
    },
    secrets: fakeSecrets,
    index: new DependencyIndex(),
    references: () => noReferences,
    wake: () => undefined,
    enqueue: () => undefined,
    slots: new BrokerSlots(4),
    dependencyGraceMs: 60_000,
  };
  let current = queue();
  const reconcile = createTopologyReconciler(options.kind ?? queueKind, rt);
  const run = (obj: TopologyObject) => {
    current = obj;
    const ctx = {
      log,
      cache: { get: () => obj, list: () => [obj], hasSynced: () => true },
      signal: new AbortController().signal,
      controller: 'queue',
      reconcileID: 'r',
    } as unknown as ReconcileContext;
    return reconcile(key, ctx);
  };
  return { run, applied, statuses, events, patches, index: rt.index, snapshotReads: () => snapshotReads };
}

const ready = (status: Record<string, unknown> | undefined) =>
  (status?.conditions as { type: string; status: string; reason: string }[] | undefined)?.find(
    (c) => c.type === 'Ready',
  );

describe('Topology reconciler, main flow', () => {
  it('declares a missing queue with one operation, says so in an Event and reports Ready', async () => {
    const h = harness();
    const result = await h.run(queue({ finalizers: [topologyFinalizer] }));
    assert.equal(result, undefined);
    assert.deepEqual(h.applied, [
      {
        op: 'putQueue',
        vhost: 'v',
        name: 'orders',
        settings: { durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' } },
      },
    ]);
    assert.deepEqual(h.events, [{ type: 'Normal', reason: 'Created' }]);
    assert.equal(ready(h.statuses[0])?.reason, 'Synchronized');
  });

  it('adds its finalizer before anything reaches the broker', async () => {
    const h = harness();
    await h.run(queue());
    assert.equal(h.patches.length, 1);
    assert.equal(h.applied.length, 1);
  });

  it('writes nothing to the broker, and no status, for an object that is in sync and Ready', async () => {
    const live: Definitions = {
      ...withVhost,
      queues: [
        {
          name: 'orders',
          vhost: 'v',
          durable: true,
          auto_delete: false,
          arguments: { 'x-queue-type': 'quorum' },
        },
      ],
    };
    const h = harness({ definitions: live });
    const status = {
      observedGeneration: 1,
      conditions: [
        {
          type: 'Ready',
          status: 'True' as const,
          reason: 'Synchronized',
          message: 'Queue "orders" in vhost "v" matches the spec.',
          lastTransitionTime: '2026-01-01T00:00:00Z',
          observedGeneration: 1,
        },
      ],
    };
    await h.run(queue({ finalizers: [topologyFinalizer] }, status));
    assert.deepEqual(h.applied, []);
    assert.deepEqual(h.statuses, []);
    assert.deepEqual(h.events, []);
  });

  it('waits quietly for a missing vhost within the grace period', async () => {
    const h = harness({ definitions: {} });
    const result = await h.run(queue({ finalizers: [topologyFinalizer] }));
    assert.ok((result?.requeueAfterMs ?? 0) > 0);
    assert.deepEqual(h.applied, []);
    assert.deepEqual(h.statuses, [], 'a short wait writes no status');
  });

  it('reports a broker failure in the status and hands it to the runtime as a failed reconcile', async () => {
    const failure = new BrokerError('BrokerUnavailable', 'PUT /api/queues/v/orders failed with HTTP 503', {
      transient: true,
    });
    const h = harness({ fail: failure });
    const result = await h.run(queue({ finalizers: [topologyFinalizer] }));
    assert.ok(result);
    assert.equal(result.failed, failure);
    const retryMs = result.requeueAfterMs ?? 0;
    assert.ok(retryMs > 0 && retryMs <= 8_000);
    assert.equal(ready(h.statuses[0])?.reason, 'BrokerUnavailable');
    assert.deepEqual(h.events, [{ type: 'Warning', reason: 'BrokerUnavailable' }]);
  });

  it('reports an invalid spec without reaching the broker', async () => {
    const h = harness();
    const obj = queue({ finalizers: [topologyFinalizer] });
    (obj.spec as Record<string, unknown>).type = 'lazy';
    await h.run(obj);
    assert.equal(h.snapshotReads(), 0);
    assert.equal(ready(h.statuses[0])?.reason, 'InvalidSpec');
  });
});

describe('Topology reconciler, objects made of several broker objects', () => {
  it('is re-reconciled by drift of any of its parts, not only of the object under its broker key', async () => {
    const h = harness({ kind: superStreamKind });
    const superStream = {
      ...queue(),
      kind: 'SuperStream',
      spec: { name: 'orders', vhost: 'v', partitions: 2, rabbitmqClusterReference: { name: 'broker' } },
    } as TopologyObject;
    await h.run(superStream);
    assert.deepEqual(
      h.applied.map((op) => op.op),
      ['putExchange', 'putQueue', 'putQueue', 'createBinding', 'createBinding'],
    );
    const dependents = (kind: 'exchange' | 'queue', name: string) =>
      h.index.dependents(targets.broker('http://broker:15672', { kind, key: snapshotKeys[kind]('v', name) }));
    for (const [kind, name] of [
      ['exchange', 'orders'],
      ['queue', 'orders-0'],
      ['queue', 'orders-1'],
    ] as const) {
      assert.deepEqual(
        dependents(kind, name).map((d) => [d.controller, d.key.name]),
        [['superstream', 'orders']],
        `${kind} ${name}`,
      );
    }
    assert.deepEqual(dependents('queue', 'orders-2'), [], 'a partition the spec does not ask for');
  });
});

describe('Topology reconciler, deletion', () => {
  const deleting = () =>
    queue({ finalizers: [topologyFinalizer], deletionTimestamp: new Date('2026-01-01T00:00:00Z') as never });
  const onBroker = (type: string): Definitions => ({
    ...withVhost,
    queues: [
      { name: 'orders', vhost: 'v', durable: true, auto_delete: false, arguments: { 'x-queue-type': type } },
    ],
  });
  const details = (messages: number): QueueDetails => ({
    name: 'orders',
    vhost: 'v',
    durable: true,
    auto_delete: false,
    arguments: { 'x-queue-type': 'quorum' },
    messages,
  });

  it('deletes an empty quorum queue, counted right before, and drops the finalizer', async () => {
    const h = harness({ definitions: onBroker('quorum'), fresh: details(0) });
    await h.run(deleting());
    assert.deepEqual(h.applied, [
      { op: 'deleteQueue', vhost: 'v', name: 'orders', ifEmpty: true, ifUnused: false },
    ]);
    assert.match(JSON.stringify(h.patches.at(-1)), /"remove"/);
    assert.deepEqual(h.events, [{ type: 'Normal', reason: 'Deleted' }]);
  });

  it('keeps a quorum queue that holds messages and keeps the finalizer', async () => {
    const h = harness({ definitions: onBroker('quorum'), fresh: details(3) });
    const result = await h.run(deleting());
    assert.deepEqual(h.applied, []);
    assert.deepEqual(h.patches, []);
    assert.equal(ready(h.statuses[0])?.reason, 'DeletionBlockedByMessages');
    assert.ok((result?.requeueAfterMs ?? 0) > 0);
  });

  it('leaves the emptiness of a classic queue to the broker: one DELETE with if-empty, no read', async () => {
    // `fresh` says it holds messages; a classic queue is never read, the broker refuses a non-empty one itself.
    const h = harness({ definitions: onBroker('classic'), fresh: details(3) });
    await h.run(deleting());
    assert.deepEqual(h.applied, [
      { op: 'deleteQueue', vhost: 'v', name: 'orders', ifEmpty: true, ifUnused: false },
    ]);
    assert.deepEqual(h.events, [{ type: 'Normal', reason: 'Deleted' }]);
  });

  it('lets the object go when the snapshot has no such queue', async () => {
    const h = harness({ fresh: details(3) });
    await h.run(deleting());
    assert.deepEqual(h.applied, []);
    assert.deepEqual(h.events, [{ type: 'Normal', reason: 'Deleted' }]);
  });
});
