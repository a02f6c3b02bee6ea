// A RabbitmqCluster on the test node's real pods, from the RabbitMQ image built here, reconciled by Warren running
// as a pod (installed by its chart, as users run it): the brokers start, find each other through Kubernetes peer
// discovery and form one cluster, the status says so, and the sample topology converges on it through the
// cluster's own Service and credentials and carries an order from one service to another.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import amqp from 'amqplib';
import { parseAllDocuments, stringify } from 'yaml';
import { after, before, describe, it } from 'node:test';
import { rabbitmqClusterResource } from '../../../src/api/index.ts';
import { kinds } from '../../../src/api/kinds.ts';
import { KubeClient, type Condition } from '../../../src/runtime/index.ts';
import { helm, installOnNode } from '../ship/helm.ts';
import { apiServer, createNamespace, eventually, testNode } from '../../env/shared.ts';
import {
  amqpUrl,
  clusterAccess,
  kubectl,
  management,
  rollWhilePublishing,
  availableAfter,
  runningNodes as nodesSeenBy,
  secretValue,
} from './pods.ts';

const node = testNode();

// Qualified: the core API has a `bindings` resource of its own, which cannot be listed.
const topologyPlurals = kinds
  .filter((kind) => kind.kind !== 'RabbitmqCluster')
  .map((kind) => `${kind.plural}.${kind.group}`)
  .join(',');

const samplesDir = join(import.meta.dirname, '../../../config/samples');

/** The order-processing topology of config/samples, pointed at another cluster in another namespace. */
function sampleTopology(cluster: string, namespace: string): string {
  const docs = parseAllDocuments(kubectl(['kustomize', samplesDir]))
    .map((d) => d.toJS() as { kind: string; metadata: { namespace?: string }; spec: Record<string, unknown> })
    .filter((d) => d.kind !== 'RabbitmqCluster');
  for (const doc of docs) {
    doc.metadata.namespace = namespace;
    // The Secrets beside the samples (a Shovel's URIs) have no spec.
    if (doc.kind !== 'Secret') doc.spec.rabbitmqClusterReference = { name: cluster };
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

/** The sample RabbitmqCluster of config/samples. */
function sampleCluster(): { spec: { rabbitmq: Record<string, unknown> } } {
  const docs = parseAllDocuments(kubectl(['kustomize', samplesDir])).map(
    (d) => d.toJS() as { kind: string; spec: { rabbitmq: Record<string, unknown> } },
  );
  const cluster = docs.find((d) => d.kind === 'RabbitmqCluster');
  assert.ok(cluster, 'config/samples holds a RabbitmqCluster');
  return cluster;
}

/** Small enough that three brokers fit the 2-core test node beside everything else. */
const smallBroker = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

describe('A RabbitmqCluster on real pods', { skip: node.skip }, () => {
  let client: KubeClient;
  let namespace: string;
  let systemNamespace: string;

  const runningNodes = (pod: string): string[] => nodesSeenBy(namespace, pod);

  const create = (name: string, replicas: number, extra: Record<string, unknown> = {}) =>
    client.create(rabbitmqClusterResource, {
      apiVersion: 'warren.dev/v1alpha1',
      kind: 'RabbitmqCluster',
      metadata: { name, namespace },
      spec: {
        replicas,
        image: node.rabbitmqImage,
        resources: smallBroker,
        persistence: { storage: '1Gi' },
        ...extra,
      },
    });

  const available = (name: string) => availableAfter(client, namespace, name);
  const rollUnderLoad = (name: string, replicas: number, change: Record<string, unknown>, what: string) =>
    rollWhilePublishing({ client, namespace, name, replicas, change, what });

  before(async () => {
    namespace = await createNamespace('cluster-pods', undefined, { node: true });
    systemNamespace = await createNamespace('cluster-pods-warren', undefined, { node: true });
    client = new KubeClient(apiServer());
    installOnNode({
      release: 'warren',
      namespace: systemNamespace,
      image: node.operatorImage,
      values: [`watchNamespaces=${JSON.stringify([namespace])}`],
    });
  });

  after(async () => {
    // While the operator still runs: it lets the brokers stop at once, and the node is free for the next file.
    kubectl(['delete', 'rabbitmqclusters.warren.dev', '--all', '-n', namespace, '--timeout=180s']);
    helm(['uninstall', 'warren', '--namespace', systemNamespace, '--wait', '--timeout', '60s']);
    await client.close();
  });

  it('forms one cluster of three running brokers', async () => {
    // The plugins the sample cluster enables, so that every sample kind (shovels, federation) runs on it.
    await create('trio', 3, { rabbitmq: sampleCluster().spec.rabbitmq });
    const seconds = await available('trio');
    process.stderr.write(`three-replica cluster: apply to ClusterAvailable in ${seconds.toFixed(1)}s\n`);
    const nodes = runningNodes('trio-server-0');
    assert.equal(nodes.length, 3, `running nodes: ${nodes.join(', ')}`);
    for (const ordinal of [0, 1, 2]) {
      assert.ok(nodes.some((n) => n.startsWith(`rabbit@trio-server-${ordinal}.trio-nodes.${namespace}`)));
    }
  });

  it('serves the sample topology through its client Service, with the credentials Warren made', async () => {
    kubectl(['apply', '-f', '-'], sampleTopology('trio', namespace));
    await eventually(
      'every topology object to be Ready',
      () => {
        const listed = JSON.parse(kubectl(['get', '-n', namespace, topologyPlurals, '-o', 'json'])) as {
          items: { status?: { conditions?: Condition[] } }[];
        };
        return (
          listed.items.length > 0 &&
          listed.items.every((o) =>
            o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          )
        );
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
    const service = kubectl(['get', 'service', '-n', namespace, 'trio', '-o', 'jsonpath={.spec.clusterIP}']);
    const credentials = (user: string) => {
      const secret = kubectl([
        'get',
        'user',
        '-n',
        namespace,
        user,
        '-o',
        'jsonpath={.status.credentials.name}',
      ]);
      return {
        username: encodeURIComponent(secretValue(namespace, secret, 'username')),
        password: encodeURIComponent(secretValue(namespace, secret, 'password')),
      };
    };
    const publisher = credentials('order-service');
    const consumer = credentials('billing-service');
    const order = `order-${Date.now()}`;

    const pub = await amqp.connect(
      `amqp://${publisher.username}:${publisher.password}@${service}:5672/orders`,
    );
    try {
      const channel = await pub.createConfirmChannel();
      channel.publish('orders', 'orders.created', Buffer.from(order), { persistent: true });
      await channel.waitForConfirms();
    } finally {
      await pub.close();
    }
    const sub = await amqp.connect(`amqp://${consumer.username}:${consumer.password}@${service}:5672/orders`);
    try {
      const channel = await sub.createChannel();
      const received = await eventually('the order in orders.billing', async () => {
        const message = await channel.get('orders.billing', { noAck: false });
        if (message === false) return undefined;
        channel.ack(message);
        return message.content.toString();
      });
      assert.equal(received, order);
    } finally {
      await sub.close();
    }

    const admin = {
      username: secretValue(namespace, 'trio-default-user', 'username'),
      password: secretValue(namespace, 'trio-default-user', 'password'),
    };
    const overview = await fetch(`http://${service}:15672/api/overview`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`,
      },
    });
    assert.equal(overview.status, 200);
    const metrics = await (await fetch(`http://${service}:15692/metrics`)).text();
    assert.match(metrics, /^rabbitmq_/m);
  });

  it('rolls one broker at a time on a configuration change, and loses no confirmed message', async () => {
    await rollUnderLoad(
      'trio',
      3,
      { rabbitmq: { additionalConfig: 'channel_max = 2047' } },
      'additionalConfig roll',
    );
    const environment = kubectl([
      'exec',
      '-n',
      namespace,
      'trio-server-1',
      '-c',
      'rabbitmq',
      '--',
      'rabbitmq-diagnostics',
      'environment',
    ]);
    assert.match(environment, /\{channel_max,\s*2047\}/);
  });

  it('brings a deleted broker back into the cluster with its durable queue', async () => {
    const access = clusterAccess(namespace, 'trio');
    const url = amqpUrl(access);
    const queue = 'survives-pod-loss';
    const connection = await amqp.connect(url);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
      for (let i = 0; i < 100; i++) channel.sendToQueue(queue, Buffer.from(String(i)), { persistent: true });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    // The pod of the node that holds the classic queue: its messages live on that pod's volume alone.
    const home = (await management<{ node: string }>(access, `/queues/%2F/${queue}`)).node;
    const pod = /^rabbit@([^.]+)\./.exec(home)?.[1] ?? '';
    const uid = kubectl(['get', 'pod', '-n', namespace, pod, '-o', 'jsonpath={.metadata.uid}']);
    const started = Date.now();
    kubectl(['delete', 'pod', '-n', namespace, pod, '--wait=false']);
    await eventually(
      `${pod} to come back Ready`,
      () => {
        const now = JSON.parse(kubectl(['get', 'pod', '-n', namespace, pod, '-o', 'json'])) as V1Pod;
        return (
          now.metadata?.uid !== uid &&
          now.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        );
      },
      { timeoutMs: 600_000, intervalMs: 1000 },
    );
    await available('trio');
    process.stderr.write(`deleted ${pod}: back Ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    assert.equal(runningNodes(pod).length, 3);
    const messages = await eventually('the queue to report its messages', async () => {
      const q = await management<{ messages?: number; state?: string }>(access, `/queues/%2F/${queue}`);
      return q.state === 'running' && q.messages;
    });
    assert.equal(messages, 100);
  });

  it('runs a one-replica cluster', async () => {
    await create('solo', 1);
    const seconds = await available('solo');
    process.stderr.write(`one-replica cluster: apply to ClusterAvailable in ${seconds.toFixed(1)}s\n`);
    assert.equal(runningNodes('solo-server-0').length, 1);
  });

  it('keeps the volumes of a deleted cluster, and comes back from them with its definitions, messages and credentials', async () => {
    const before = clusterAccess(namespace, 'solo');
    await management(before, '/exchanges/%2F/kept', {
      method: 'PUT',
      body: JSON.stringify({ type: 'topic', durable: true }),
    });
    const connection = await amqp.connect(amqpUrl(before));
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue('kept', { durable: true });
      await channel.bindQueue('kept', 'kept', 'kept.#');
      for (let i = 0; i < 50; i++)
        channel.publish('kept', 'kept.message', Buffer.from(String(i)), { persistent: true });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    const claims = () =>
      kubectl([
        'get',
        'pvc',
        '-n',
        namespace,
        '-l',
        'app.kubernetes.io/name=solo',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid} {end}',
      ]).trim();
    const kept = claims();
    assert.match(kept, /^persistence-solo-server-0=/);

    await client.delete(rabbitmqClusterResource, { namespace, name: 'solo' });
    await eventually(
      'the cluster and its pods to be gone',
      async () =>
        !(await client.get(rabbitmqClusterResource, { namespace, name: 'solo' })) &&
        kubectl([
          'get',
          'pods',
          '-n',
          namespace,
          '-l',
          'app.kubernetes.io/name=solo',
          '-o',
          'name',
        ]).trim() === '',
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    assert.equal(claims(), kept, 'the PersistentVolumeClaims are kept');

    await create('solo', 1);
    const seconds = await available('solo');
    process.stderr.write(
      `one-replica cluster recreated on its volumes: available in ${seconds.toFixed(1)}s\n`,
    );
    assert.equal(claims(), kept, 'the recreated cluster runs on the same claims');
    const after = clusterAccess(namespace, 'solo');
    // The broker creates the default user only on an empty database: the Secret's credentials must log in.
    await management(after, '/whoami');
    assert.deepEqual(
      { username: after.username, password: after.password },
      { username: before.username, password: before.password },
      'the default user Secret is the one the data was created with',
    );
    const queue = await eventually('the kept queue', () =>
      management<{ messages?: number }>(after, '/queues/%2F/kept').then((q) => q.messages !== undefined && q),
    );
    assert.equal(queue.messages, 50);
    const bindings = await management<{ source: string }[]>(after, '/queues/%2F/kept/bindings');
    assert.ok(bindings.some((b) => b.source === 'kept'));
  });
});
