// A broker that is down while objects are created: Ready=False with a reason, no crash, and convergence
// once it is back. Uses its own RabbitmqCluster (pointed at a dedicated node by warren.dev/connection-uri)
// so that stopping the node disturbs no other test. Also covers cluster references across namespaces.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startRabbitmq, type RabbitmqHandle } from '../../env/rabbitmq.ts';
import {
  broker,
  core,
  create,
  custom,
  enc,
  eventually,
  group,
  ready,
  startOperator,
  version,
  waitReady,
  waitReason,
  type Operator,
  type TopologyObject,
  createConnectionSecret,
  createNamespace,
} from './harness.ts';

let operator: Operator;
let node: RabbitmqHandle;
let ns: string;
let other: string;
const vhost = 'outage';

async function createCluster(
  namespace: string,
  name: string,
  target: RabbitmqHandle,
  annotations: Record<string, string> = {},
) {
  await core().createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: `${name}-default-user` },
      stringData: { username: target.username, password: target.password },
    },
  });
  await custom().createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'rabbitmqclusters',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'RabbitmqCluster',
      metadata: {
        name,
        namespace,
        annotations: { 'warren.dev/connection-uri': target.managementUrl, ...annotations },
      },
      spec: {},
    },
  });
  await custom().patchNamespacedCustomObjectStatus(
    {
      group,
      version,
      namespace,
      plural: 'rabbitmqclusters',
      name,
      body: {
        status: {
          defaultUser: {
            secretReference: {
              name: `${name}-default-user`,
              namespace,
              keys: { username: 'username', password: 'password' },
            },
            serviceReference: { name, namespace },
          },
        },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

before(async () => {
  node = await startRabbitmq();
  ns = await createNamespace('topology-outage');
  other = await createNamespace('topology-outage-other');
  await createCluster(ns, 'rmq', node, { 'warren.dev/topology-allowed-namespaces': other });
  operator = await startOperator({ brokerRefreshInterval: '2s' });
});

after(async () => {
  await operator.stop();
  await node.destroy();
});

describe('Cluster references', () => {
  it('uses a RabbitmqCluster in its own namespace and one that allows another namespace', async () => {
    await create('Vhost', ns, 'vhost', { name: vhost, rabbitmqClusterReference: { name: 'rmq' } });
    await waitReady('Vhost', ns, 'vhost');
    await create('Queue', other, 'allowed', {
      name: 'allowed',
      vhost,
      rabbitmqClusterReference: { name: 'rmq', namespace: ns },
    });
    await waitReady('Queue', other, 'allowed');
    assert.ok(await broker(node).get(`/api/queues/${vhost}/allowed`));
  });

  it('refuses a namespace the cluster does not allow', async () => {
    const denied = await createNamespace('topology-outage-denied');
    await create('Queue', denied, 'denied', {
      name: 'denied',
      vhost,
      rabbitmqClusterReference: { name: 'rmq', namespace: ns },
    });
    const obj = await waitReason('Queue', denied, 'denied', 'NamespaceNotAllowed');
    assert.equal(ready(obj)?.status, 'False');
    assert.equal(await broker(node).get(`/api/queues/${vhost}/denied`), undefined);
  });

  it("neither uses nor labels another namespace's connection Secret that does not allow it", async () => {
    const owner = await createNamespace('topology-outage-secret');
    await createConnectionSecret(owner, 'private', node);
    const denied = await createNamespace('topology-outage-secret-user');
    await create('Queue', denied, 'borrowed', {
      name: 'borrowed',
      vhost,
      rabbitmqClusterReference: { connectionSecret: { name: 'private' }, namespace: owner },
    });
    await waitReason('Queue', denied, 'borrowed', 'NamespaceNotAllowed');
    const secret = await core().readNamespacedSecret({ namespace: owner, name: 'private' });
    assert.equal(secret.metadata?.labels?.['warren.dev/watched'], undefined, 'the Secret was not labelled');
    assert.equal(await broker(node).get(`/api/queues/${vhost}/borrowed`), undefined);
  });
});

describe('Broker outage', () => {
  it('reports objects created while the broker is down and converges after it returns', async () => {
    await node.stop();
    const names = ['during-1', 'during-2', 'during-3'];
    for (const name of names)
      await create('Queue', ns, name, { name, vhost, rabbitmqClusterReference: { name: 'rmq' } });
    await create('Exchange', ns, 'during', {
      name: 'during',
      vhost,
      type: 'fanout',
      rabbitmqClusterReference: { name: 'rmq' },
    });
    for (const name of names) {
      const obj = await eventually(`${name} not ready`, async () => {
        const o = (await custom().getNamespacedCustomObject({
          group,
          version,
          namespace: ns,
          plural: 'queues',
          name,
        })) as TopologyObject;
        const condition = ready(o);
        return condition?.status === 'False' ? condition : undefined;
      });
      assert.match(obj.reason ?? '', /^(BrokerUnreachable|Timeout|BrokerUnavailable)$/);
    }

    await node.start();
    // Convergence is bounded by the test's 60 s polling limit; the operator retries a down broker every few seconds.
    for (const name of names) await waitReady('Queue', ns, name);
    await waitReady('Exchange', ns, 'during');
    for (const name of names) assert.ok(await broker(node).get(`/api/queues/${vhost}/${enc(name)}`));
  });
});

describe('Deletion when the broker is gone for good', () => {
  it('drops the finalizer with an Event instead of hanging in Terminating', async () => {
    await custom().deleteNamespacedCustomObject({
      group,
      version,
      namespace: ns,
      plural: 'rabbitmqclusters',
      name: 'rmq',
    });
    await custom().deleteNamespacedCustomObject({
      group,
      version,
      namespace: other,
      plural: 'queues',
      name: 'allowed',
    });
    await eventually('Queue gone', async () => {
      try {
        await custom().getNamespacedCustomObject({
          group,
          version,
          namespace: other,
          plural: 'queues',
          name: 'allowed',
        });
        return false;
      } catch {
        return true;
      }
    });
    const events = await core().listNamespacedEvent({ namespace: other });
    assert.ok(events.items.some((e) => e.reason === 'BrokerGone'));
  });
});
