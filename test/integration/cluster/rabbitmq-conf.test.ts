// The rabbitmq.conf Warren generates is accepted by a real RabbitMQ node, and its settings take effect.
// The node is local (Debian's 3.10), so Kubernetes peer discovery is swapped for the classic-config
// backend; everything else is loaded as the pods load it: operator defaults, then the user's configuration.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'amqplib';
import { parseRabbitmqCluster } from '../../../src/api/index.ts';
import { serverConfigMap } from '../../../src/cluster/resources/config.ts';
import { startRabbitmq, type RabbitmqHandle } from '../../env/rabbitmq.ts';

const memoryLimit = 2 * 2 ** 30;
const cluster = (() => {
  const parsed = parseRabbitmqCluster({
    apiVersion: 'warren.dev/v1alpha1',
    kind: 'RabbitmqCluster',
    metadata: { name: 'acceptance', namespace: 'shop', uid: 'u' },
    spec: {
      replicas: 3,
      persistence: { storage: '1Gi' },
      resources: { requests: { memory: '2Gi' }, limits: { memory: '2Gi' } },
      rabbitmq: {
        additionalConfig: [
          '# tuned by the team',
          'vm_memory_high_watermark.relative = 0.5',
          'channel_max = 512',
        ].join('\n'),
      },
    },
  });
  if (!parsed.success) throw new Error(parsed.message);
  return parsed.object;
})();

/** The pod's conf.d files in their load order, with peer discovery made local. */
function localConfiguration(): string {
  const data = serverConfigMap(cluster, undefined).data ?? {};
  const defaults = (data['operatorDefaults.conf'] ?? '')
    .split('\n')
    .filter((line) => !line.startsWith('cluster_formation.k8s.'))
    .map((line) =>
      line.replace(
        'cluster_formation.peer_discovery_backend = rabbit_peer_discovery_k8s',
        'cluster_formation.peer_discovery_backend = rabbit_peer_discovery_classic_config',
      ),
    )
    .join('\n');
  return `${defaults}\n${data['userDefinedConfiguration.conf'] ?? ''}`;
}

/** Polls until check() returns a value; gives up after a minute (a bound on failure, not a timing assertion). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(250);
  }
}

describe('The generated rabbitmq.conf on a real RabbitMQ node', () => {
  let broker: RabbitmqHandle;

  const api = async <T>(path: string): Promise<T> => {
    const auth = Buffer.from(`${broker.username}:${broker.password}`).toString('base64');
    const response = await fetch(`${broker.managementUrl}${path}`, {
      headers: { authorization: `Basic ${auth}` },
    });
    assert.equal(response.status, 200, `GET ${path}`);
    return (await response.json()) as T;
  };
  // Node statistics appear a few seconds after boot.
  const node = () =>
    eventually('node statistics', async () => {
      const nodes = await api<{ name: string; mem_limit?: number; disk_free_limit?: number }[]>('/api/nodes');
      const found = nodes.find((n) => n.name === broker.nodeName);
      return found?.mem_limit !== undefined && found.disk_free_limit !== undefined ? found : undefined;
    });

  before(async () => {
    // Appended to the node's own rabbitmq.conf, so these settings win, as conf.d files do in the pod.
    broker = await startRabbitmq({ additionalConfig: localConfiguration() });
  });

  after(async () => {
    await broker.destroy();
  });

  it('names the cluster after the RabbitmqCluster', async () => {
    assert.deepEqual(await api('/api/cluster-name'), { name: 'acceptance' });
  });

  it('sizes the memory alarm from the container limit minus headroom, with the user watermark on top', async () => {
    const available = memoryLimit - Math.floor(memoryLimit / 5);
    assert.equal((await node()).mem_limit, Math.floor(available * 0.5));
  });

  it('keeps the free-disk threshold below a quarter of the volume', async () => {
    assert.equal((await node()).disk_free_limit, 2 ** 30 / 4);
  });

  it('lets AMQP clients log in with the mechanisms it lists', async () => {
    const connection = await connect(broker.amqpUrl);
    await connection.close();
  });
});
