// A restarted operator reads each broker in bulk and writes nothing when nothing changed: one object of every
// topology kind is converged, the operator is replaced by a new one with empty caches, and every object is
// reconciled again without a single PUT, POST or DELETE reaching the broker.
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBinaries } from '../../env/binaries.ts';
import { kinds } from '../../../src/api/kinds.ts';
import { managementRequestCounts, requestCountsSince } from '../../../src/rabbitmq/metrics.ts';
import {
  core,
  create,
  createConnectionSecret,
  createNamespace,
  enc,
  eventually,
  sleep,
  startOperator,
  testEnv,
  waitReady,
  type Operator,
} from './harness.ts';

let operator: Operator | undefined;
let ns: string;
const vhost = `resync-${Date.now()}`;
const ref = { connectionSecret: { name: 'broker' } };
const amqpUri = () => {
  const { amqpUrl, username, password } = testEnv();
  return `amqp://${enc(username)}:${enc(password)}@${new URL(amqpUrl).host}/${enc(vhost)}`;
};

/** One object of every topology kind, in the order a user might apply them. */
const objects: [kind: string, name: string, spec: Record<string, unknown>][] = [
  ['Vhost', 'vhost', { name: vhost }],
  ['User', 'app', { tags: ['management'] }],
  ['Permission', 'app', { userReference: { name: 'app' }, vhost, permissions: { read: '.*' } }],
  [
    'TopicPermission',
    'app',
    { userReference: { name: 'app' }, vhost, permissions: { exchange: 'events', write: '^orders\\.' } },
  ],
  ['Exchange', 'events', { name: 'events', vhost, type: 'topic' }],
  ['Queue', 'orders', { name: 'orders', vhost, type: 'quorum' }],
  ['Queue', 'audit', { name: 'audit', vhost }],
  ['SuperStream', 'invoices', { name: 'invoices', vhost, partitions: 2 }],
  [
    'Binding',
    'orders',
    { vhost, source: 'events', destination: 'orders', destinationType: 'queue', routingKey: 'orders.*' },
  ],
  ['Policy', 'limit', { name: 'limit', vhost, pattern: '^orders$', definition: { 'max-length': 1000 } }],
  ['OperatorPolicy', 'cap', { name: 'cap', vhost, pattern: '^audit$', definition: { 'max-length': 500 } }],
  [
    'Shovel',
    'audit',
    { name: 'audit', vhost, uriSecret: { name: 'uris' }, srcQueue: 'orders', destQueue: 'audit' },
  ],
  ['Federation', 'upstream', { name: 'upstream', vhost, uriSecret: { name: 'uris' }, exchange: 'events' }],
];

before(async () => {
  ns = await createNamespace('topology-resync');
  await createConnectionSecret(ns, 'broker');
  await core().createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: 'uris', namespace: ns },
      stringData: { srcUri: amqpUri(), destUri: amqpUri(), uri: amqpUri() },
    },
  });
  operator = await startOperator({ brokerRefreshInterval: '2s' });
  for (const [kind, name, spec] of objects) {
    await create(kind, ns, name, { ...spec, rabbitmqClusterReference: ref });
  }
  for (const [kind, name] of objects) await waitReady(kind, ns, name);
});

after(async () => {
  await operator?.stop();
});

/** Reconciles the operator finished, by controller. */
async function reconciled(op: Operator): Promise<Map<string, number>> {
  const metric = await op.manager.registry.getSingleMetric('controller_runtime_reconcile_total')?.get();
  const byController = new Map<string, number>();
  for (const value of metric?.values ?? []) {
    const controller = String(value.labels.controller);
    byController.set(controller, (byController.get(controller) ?? 0) + value.value);
  }
  return byController;
}

describe('Resync after a restart', () => {
  it('covers every topology kind the operator serves', () => {
    const served = kinds.filter((k) => k.kind !== 'RabbitmqCluster').map((k) => k.kind);
    assert.deepEqual(new Set(objects.map(([kind]) => kind)), new Set(served));
  });

  it('lists every object with kubectl get warren', () => {
    const listed = execFileSync(
      ensureBinaries().kubectl,
      ['--kubeconfig', testEnv().kubeconfigPath, 'get', 'warren', '-n', ns, '-o', 'name'],
      { encoding: 'utf8' },
    );
    const expected = objects.map(([kind, name]) => `${kind.toLowerCase()}.warren.dev/${name}`);
    assert.deepEqual(listed.trim().split('\n').sort(), expected.sort());
  });

  it('reconciles every object again and writes nothing to the broker', async () => {
    await operator?.stop();
    const before = managementRequestCounts();
    const restarted = await startOperator({ brokerRefreshInterval: '2s' });
    operator = restarted;
    const expected = new Map<string, number>();
    for (const [kind] of objects)
      expected.set(kind.toLowerCase(), (expected.get(kind.toLowerCase()) ?? 0) + 1);
    await eventually('every object reconciled by the new operator', async () => {
      const done = await reconciled(restarted);
      return [...expected].every(([controller, count]) => (done.get(controller) ?? 0) >= count);
    });
    await sleep(5000); // two refresh intervals: drift would show now
    const during = requestCountsSince(before);
    assert.deepEqual(
      { PUT: during.PUT ?? 0, POST: during.POST ?? 0, DELETE: during.DELETE ?? 0 },
      { PUT: 0, POST: 0, DELETE: 0 },
      `requests after the restart: ${JSON.stringify(during)}`,
    );
    for (const [kind, name] of objects) await waitReady(kind, ns, name);
  });
});
