// A RabbitmqCluster on the test node's real pods, from the RabbitMQ image built here, reconciled by Warren running
// as a pod (installed by its chart, as users run it): the brokers start, find each other through Kubernetes peer
// discovery and form one cluster, the status says so, and the sample topology converges on it through the
// cluster's own Service and credentials and carries an order from one service to another.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import amqp from 'amqplib';
import { parseAllDocuments, stringify } from 'yaml';
import { after, before, describe, it } from 'node:test';
import { rabbitmqClusterResource } from '../../../src/api/index.ts';
import { KubeClient, type Condition, type KubeObject } from '../../../src/runtime/index.ts';
import { helm, installOnNode } from '../ship/helm.ts';
import { apiServer, createNamespace, eventually, testNode } from '../../env/shared.ts';

const node = testNode();

function kubectl(args: readonly string[], input?: string): string {
  return execFileSync('kubectl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

// Qualified: the core API has a `bindings` resource of its own, which cannot be listed.
const topologyPlurals = ['vhosts', 'users', 'permissions', 'exchanges', 'queues', 'bindings', 'policies']
  .map((plural) => `${plural}.warren.dev`)
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

function secretValue(namespace: string, name: string, key: string): string {
  const encoded = kubectl(['get', 'secret', '-n', namespace, name, '-o', `jsonpath={.data.${key}}`]);
  return Buffer.from(encoded, 'base64').toString('utf8');
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

  const conditions = async (name: string) => {
    const cluster = await client.get<KubeObject>(rabbitmqClusterResource, { namespace, name });
    const list = (cluster?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    return Object.fromEntries(list.map((c) => [c.type, c.status]));
  };

  const runningNodes = (pod: string): string[] => {
    const status = JSON.parse(
      kubectl([
        'exec',
        '-n',
        namespace,
        pod,
        '-c',
        'rabbitmq',
        '--',
        'rabbitmq-diagnostics',
        'cluster_status',
        '--formatter',
        'json',
      ]),
    ) as { running_nodes: string[] };
    return status.running_nodes;
  };

  const create = (name: string, replicas: number) =>
    client.create(rabbitmqClusterResource, {
      apiVersion: 'warren.dev/v1alpha1',
      kind: 'RabbitmqCluster',
      metadata: { name, namespace },
      spec: { replicas, image: node.rabbitmqImage, resources: smallBroker, persistence: { storage: '1Gi' } },
    });

  const available = async (name: string) => {
    const started = Date.now();
    await eventually(
      `${name} to be available`,
      async () => {
        const now = await conditions(name);
        return now.AllReplicasReady === 'True' && now.ClusterAvailable === 'True';
      },
      { timeoutMs: 600_000, intervalMs: 1000 },
    );
    return (Date.now() - started) / 1000;
  };

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
    helm(['uninstall', 'warren', '--namespace', systemNamespace, '--wait', '--timeout', '60s']);
    await client.close();
  });

  it('forms one cluster of three running brokers', async () => {
    await create('trio', 3);
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

  it('runs a one-replica cluster', async () => {
    await create('solo', 1);
    const seconds = await available('solo');
    process.stderr.write(`one-replica cluster: apply to ClusterAvailable in ${seconds.toFixed(1)}s\n`);
    assert.equal(runningNodes('solo-server-0').length, 1);
  });
});
