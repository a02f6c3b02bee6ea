// What an integration test uses of the shared test environment (started by test/env/global-setup.ts, or by
// `npm run testenv -- up` and `. .testenv/env`):
//
//   testEnv()               { kubeconfigPath, managementUrl, amqpUrl, username, password, dir }; throws a clear
//                           error when the test runs outside the environment
//   kubeConfig()            a KubeConfig for the admin user of the control plane
//   apiServer()             the same, as the ApiServerAccess a KubeClient or Manager takes
//   clusterCa(kc)           the PEM of the CA a KubeConfig trusts for its current cluster
//   createNamespace(prefix, kc?, { node? })
//                           creates a namespace with a unique name starting with prefix and returns the name;
//                           on the shared control plane, or on the one kc points at (a test's own). Its pods are
//                           kept off the test node (a test plays the kubelet for them) unless node is true
//   testNode()              { name, ip, rabbitmqImage, operatorImage } of the test node, or { skip: why } where
//                           none runs: `describe('…', { skip: testNode().skip }, …)`
//   eventually(what, check) polls check() (sync or async) until it returns a value (not undefined or false) and
//                           returns it; fails after 60 s (a bound on failure, not a timing assertion)
//
// Tests isolate by namespace (and by vhost on the broker); they never stop the shared API server or broker: a
// test that needs an outage starts its own with startControlPlane() or startRabbitmq().
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { accessFromKubeConfig, type ApiServerAccess } from '../../src/runtime/api-server.ts';

export interface TestEnv {
  kubeconfigPath: string;
  managementUrl: string;
  amqpUrl: string;
  username: string;
  password: string;
  /** Working directory of the environment; component logs are under it. */
  dir: string;
}

export function testEnv(): TestEnv {
  const env = process.env;
  // WARREN_TESTENV_DIR marks an environment of ours, so a KUBECONFIG that points at a real cluster is never used.
  const dir = env.WARREN_TESTENV_DIR;
  const values = {
    kubeconfigPath: env.KUBECONFIG,
    managementUrl: env.RABBITMQ_MANAGEMENT_URL,
    amqpUrl: env.RABBITMQ_AMQP_URL,
    username: env.RABBITMQ_USERNAME,
    password: env.RABBITMQ_PASSWORD,
  };
  const missing = Object.entries(values).filter(([, v]) => !v);
  if (!dir || missing.length > 0) {
    throw new Error(
      'No test environment: run integration tests with `npm run test:integration` (which starts one), ' +
        'or after `npm run testenv -- up` and `. .testenv/env`.',
    );
  }
  return { ...(values as Omit<TestEnv, 'dir'>), dir };
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testEnv().kubeconfigPath);
  return kc;
}

/** The PEM of the CA the kubeconfig trusts for its current cluster. */
export function clusterCa(kubeConfig: KubeConfig): string {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster?.caData) return Buffer.from(cluster.caData, 'base64').toString('utf8');
  if (cluster?.caFile) return readFileSync(cluster.caFile, 'utf8');
  throw new Error('the kubeconfig names no CA for its cluster');
}

export function apiServer(): ApiServerAccess {
  return accessFromKubeConfig(kubeConfig());
}

/** The namespace annotation (PodNodeSelector admission) that keeps pods off every node: no node has the label. */
export const OFF_NODE_SELECTOR = {
  'scheduler.alpha.kubernetes.io/node-selector': 'warren.dev/test-node=none',
};

export async function createNamespace(
  prefix: string,
  kc: KubeConfig = kubeConfig(),
  options: { node?: boolean } = {},
): Promise<string> {
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  const name = `${base || 'test'}-${randomBytes(4).toString('hex')}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({
    body: {
      metadata: {
        name,
        labels: { 'warren.dev/test': 'true' },
        annotations: options.node ? {} : OFF_NODE_SELECTOR,
      },
    },
  });
  return name;
}

export interface TestNode {
  name: string;
  ip: string;
  rabbitmqImage: string;
  operatorImage: string;
  /** Set where no node runs: what node:test prints as the reason for skipping. */
  skip?: string;
}

export function testNode(): TestNode {
  const env = process.env;
  if (!env.WARREN_NODE_NAME) {
    const why = env.WARREN_NODE_UNAVAILABLE ?? 'the test environment has no node';
    return { name: '', ip: '', rabbitmqImage: '', operatorImage: '', skip: `skipped: ${why}` };
  }
  return {
    name: env.WARREN_NODE_NAME,
    ip: env.WARREN_NODE_IP ?? '',
    rabbitmqImage: env.WARREN_RABBITMQ_IMAGE ?? '',
    operatorImage: env.WARREN_OPERATOR_IMAGE ?? '',
  };
}

export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 60_000, intervalMs = 250 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}
