// The longer lives of RabbitmqClusters on the local test node, too slow for `npm test`: an image change rolled
// under load, growing from three nodes to five, TLS with certificates Warren issues (and renews) or the user
// brings, and forming under OrderedReady. Run by `npm run e2e` (test/e2e/local.sh) against the running test
// environment; the operator runs as a pod installed by its chart, watching this file's namespace only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { Agent, fetch as undiciFetch } from 'undici';
import { rabbitmqClusterResource } from '../../../src/api/index.ts';
import {
  issueCa,
  issueServerCertificate,
  serverDnsNames,
  validityFrom,
} from '../../../src/cluster/certificates.ts';
import { coreResources, KubeClient, type Condition, type KubeObject } from '../../../src/runtime/index.ts';
import { apiServer, createNamespace, eventually, testNode } from '../../env/shared.ts';
import { helm, installOnNode } from '../../integration/ship/helm.ts';
import {
  amqpUrl,
  availableAfter,
  clusterAccess,
  declareQuorumQueue,
  kubectl,
  management,
  rolledOut,
  rollWhilePublishing,
  runningNodes,
  secretValue,
  statefulSetOf,
  tagNodeImage,
  type ClusterAccess,
} from '../../integration/cluster/pods.ts';

const node = testNode();

const smallBroker = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

/** An AMQPS connection and a management request over https, trusting only `ca` and checking `servername`. */
async function checkTls(access: ClusterAccess, ca: string, servername: string): Promise<void> {
  const connection = await amqp.connect(
    {
      protocol: 'amqps',
      hostname: access.host,
      port: 5671,
      username: access.username,
      password: access.password,
      vhost: '/',
    },
    { ca: [ca], servername },
  );
  await connection.close();
  const dispatcher = new Agent({ connect: { ca, servername } });
  try {
    const auth = Buffer.from(`${access.username}:${access.password}`).toString('base64');
    const response = await undiciFetch(`https://${access.host}:15671/api/whoami`, {
      dispatcher,
      headers: { authorization: `Basic ${auth}` },
    });
    assert.equal(response.status, 200);
  } finally {
    await dispatcher.close();
  }
  // The name is checked: the same CA with a name the certificate does not carry is refused.
  await assert.rejects(
    amqp.connect(
      {
        protocol: 'amqps',
        hostname: access.host,
        port: 5671,
        username: access.username,
        password: access.password,
      },
      { ca: [ca], servername: 'not-the-cluster.example' },
    ),
    /altnames|does not match|Hostname/i,
  );
}

describe('RabbitmqClusters on the local node, at length', { skip: node.skip }, () => {
  let client: KubeClient;
  let namespace: string;
  let systemNamespace: string;

  const create = (name: string, replicas: number, spec: Record<string, unknown> = {}) =>
    client.create(rabbitmqClusterResource, {
      apiVersion: 'warren.dev/v1alpha1',
      kind: 'RabbitmqCluster',
      metadata: { name, namespace },
      spec: {
        replicas,
        image: node.rabbitmqImage,
        resources: smallBroker,
        persistence: { storage: '1Gi' },
        ...spec,
      },
    });

  const available = (name: string) => availableAfter(client, namespace, name);

  const podUids = (name: string) =>
    kubectl([
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      `app.kubernetes.io/name=${name}`,
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid} {end}',
    ])
      .trim()
      .split(' ')
      .sort();

  before(async () => {
    namespace = await createNamespace('e2e-pods', undefined, { node: true });
    systemNamespace = await createNamespace('e2e-pods-warren', undefined, { node: true });
    client = new KubeClient(apiServer());
    installOnNode({
      release: 'warren',
      namespace: systemNamespace,
      image: node.operatorImage,
      values: [`watchNamespaces=${JSON.stringify([namespace])}`],
    });
  });

  after(async () => {
    kubectl(['delete', 'rabbitmqclusters.warren.dev', '--all', '-n', namespace, '--timeout=180s']);
    helm(['uninstall', 'warren', '--namespace', systemNamespace, '--wait', '--timeout', '60s']);
    await client.close();
  });

  it('rolls one broker at a time on an image change, and loses no confirmed message', async () => {
    await create('rolling', 3);
    const seconds = await available('rolling');
    process.stderr.write(`three-replica cluster: apply to ClusterAvailable in ${seconds.toFixed(1)}s\n`);
    // The same layers under a second name: a new image reference for the StatefulSet, nothing to build.
    const next = `${node.rabbitmqImage}-retagged`;
    tagNodeImage(node.rabbitmqImage, next);
    await rollWhilePublishing({
      client,
      namespace,
      name: 'rolling',
      replicas: 3,
      change: { image: next },
      what: 'image change roll',
    });
    const images = kubectl([
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      'app.kubernetes.io/name=rolling',
      '-o',
      'jsonpath={.items[*].spec.containers[0].image}',
    ]);
    assert.deepEqual(images.split(' '), [next, next, next]);
  });

  it('grows from three nodes to five without restarting the three, and refuses to shrink back', async () => {
    const access = clusterAccess(namespace, 'rolling');
    await declareQuorumQueue(amqpUrl(access), 'grows');
    const before = podUids('rolling');
    const generation = statefulSetOf(namespace, 'rolling').metadata.generation;
    const started = Date.now();
    await client.mergePatch(
      rabbitmqClusterResource,
      { namespace, name: 'rolling' },
      { spec: { replicas: 5 } },
    );
    await rolledOut(namespace, 'rolling', generation, 5);
    await available('rolling');
    process.stderr.write(`scale 3 to 5: ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    const after = podUids('rolling');
    assert.deepEqual(after.slice(0, 3), before, 'the three first brokers kept running');
    assert.equal(runningNodes(namespace, 'rolling-server-0').length, 5);
    assert.equal(
      runningNodes(namespace, 'rolling-server-4').length,
      5,
      'the new nodes joined the same cluster',
    );

    for (const ordinal of [3, 4]) {
      kubectl([
        'exec',
        '-n',
        namespace,
        'rolling-server-0',
        '-c',
        'rabbitmq',
        '--',
        'rabbitmq-queues',
        'grow',
        `rabbit@rolling-server-${ordinal}.rolling-nodes.${namespace}`,
        'all',
        '--queue-pattern',
        '^grows$',
      ]);
    }
    const members = await eventually('the quorum queue on five nodes', async () => {
      const queue = await management<{ members?: string[] }>(access, '/queues/%2F/grows');
      return queue.members?.length === 5 && queue.members;
    });
    assert.equal(members.length, 5);

    await client.mergePatch(
      rabbitmqClusterResource,
      { namespace, name: 'rolling' },
      { spec: { replicas: 3 } },
    );
    const refused = await eventually('the scale-down to be refused', async () => {
      const cluster = await client.get<KubeObject>(rabbitmqClusterResource, { namespace, name: 'rolling' });
      const conditions = (cluster?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
      return conditions.find((c) => c.type === 'ReconcileSuccess' && c.reason === 'ScaleDownNotSupported');
    });
    process.stderr.write(`scale-down refused: ${refused.message}\n`);
    assert.equal(refused.status, 'False');
    assert.equal(
      kubectl(['get', 'statefulset', '-n', namespace, 'rolling-server', '-o', 'jsonpath={.spec.replicas}']),
      '5',
    );
    await client.mergePatch(
      rabbitmqClusterResource,
      { namespace, name: 'rolling' },
      { spec: { replicas: 5 } },
    );
    await client.delete(rabbitmqClusterResource, { namespace, name: 'rolling' });
  });

  it('serves AMQPS and HTTPS with certificates it issues, and clients keep trusting it through a renewal', async () => {
    // Renewed two minutes after issuing: short enough to watch, long enough for the roll in between.
    await create('managed', 1, { tls: { managed: { duration: '10m', renewBefore: '8m' } } });
    await available('managed');
    const access = clusterAccess(namespace, 'managed');
    const ca = secretValue(namespace, 'managed-tls', 'ca.crt');
    const servername = `managed.${namespace}.svc`;
    // The first renewal may already be rolling the pod.
    await eventually(
      'an AMQPS client trusting the CA to connect',
      () => checkTls(access, ca, servername).then(() => true),
      { timeoutMs: 300_000, intervalMs: 2000 },
    );

    const certificate = secretValue(namespace, 'managed-tls', 'tls.crt');
    const generation = statefulSetOf(namespace, 'managed').metadata.generation;
    await eventually(
      'the server certificate to be renewed',
      () => secretValue(namespace, 'managed-tls', 'tls.crt') !== certificate,
      { timeoutMs: 600_000, intervalMs: 2000 },
    );
    const started = Date.now();
    await rolledOut(namespace, 'managed', generation, 1);
    await available('managed');
    process.stderr.write(
      `managed TLS renewal: pods rolled and available ${((Date.now() - started) / 1000).toFixed(1)}s after the new certificate\n`,
    );
    assert.equal(secretValue(namespace, 'managed-tls', 'ca.crt'), ca, 'the CA stays');
    // A client that reconnects with the CA it read at the start.
    await eventually(
      'a client with the first CA to connect again',
      () => checkTls(access, ca, servername).then(() => true),
      { timeoutMs: 300_000, intervalMs: 2000 },
    );
    await client.delete(rabbitmqClusterResource, { namespace, name: 'managed' });
  });

  it('serves AMQPS and HTTPS with a certificate the user brings', async () => {
    const now = new Date();
    const brought = await issueCa({ name: 'brought', namespace, validity: validityFrom(now, 86_400_000) });
    const server = await issueServerCertificate({
      ca: brought,
      commonName: 'brought',
      dnsNames: serverDnsNames('brought', namespace),
      validity: validityFrom(now, 86_400_000),
    });
    await client.create(coreResources.secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'brought-certificate', namespace },
      type: 'kubernetes.io/tls',
      stringData: {
        'tls.crt': server.certificate,
        'tls.key': server.privateKey,
        'ca.crt': brought.certificate,
      },
    });
    // Server TLS only: caSecretName would turn on mutual TLS, and the broker would ask clients for a certificate.
    await create('brought', 1, { tls: { secretName: 'brought-certificate' } });

    await available('brought');
    const access = clusterAccess(namespace, 'brought');
    await checkTls(
      access,
      secretValue(namespace, 'brought-certificate', 'ca.crt'),
      `brought.${namespace}.svc`,
    );
    await client.delete(rabbitmqClusterResource, { namespace, name: 'brought' });
  });

  it('forms with OrderedReady too, its brokers started one at a time', async () => {
    await create('ordered', 3, {
      override: { statefulSet: { spec: { podManagementPolicy: 'OrderedReady' } } },
    });
    const seconds = await available('ordered');
    process.stderr.write(
      `three-replica cluster under OrderedReady: apply to ClusterAvailable in ${seconds.toFixed(1)}s\n`,
    );
    assert.equal(runningNodes(namespace, 'ordered-server-2').length, 3);
  });
});
