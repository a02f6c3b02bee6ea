// node:test global setup for the integration tests (`npm run test:integration` passes it with
// --test-global-setup). One fresh control plane (CRDs from crds/ installed) and one RabbitMQ node per test run,
// started side by side, then the test node (node/node.ts) where this machine can run one; all stopped in
// globalTeardown. Test files inherit the connection details as environment variables and read them through
// test/env/shared.ts:
//
//   KUBECONFIG               admin kubeconfig of the control plane
//   RABBITMQ_MANAGEMENT_URL  http://127.0.0.1:<port>
//   RABBITMQ_AMQP_URL        amqp://<user>:<password>@127.0.0.1:<port>
//   RABBITMQ_USERNAME, RABBITMQ_PASSWORD
//   WARREN_TESTENV_DIR       working directory of this run (logs of every component under it)
//   PATH                     with the built kubectl first
//   WARREN_NODE_NAME, WARREN_NODE_IP, WARREN_RABBITMQ_IMAGE, WARREN_OPERATOR_IMAGE
//                            the test node and the images it holds; or WARREN_NODE_UNAVAILABLE, why there is none
//
// A running `npm run testenv -- up` environment is not reused: a run always starts clean. To run a single file
// against the long-running environment instead: `. .testenv/env && node --test test/integration/x.test.ts`.
// WARREN_TESTENV_KEEP=1 keeps the working directory (logs, etcd data) after the run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { startControlPlane, type ControlPlaneHandle } from './control-plane.ts';
import { startRabbitmq, type RabbitmqHandle } from './rabbitmq.ts';
import { stopOnExit } from './environment.ts';
import { planTestNode, startTestNode, type NodeHandle } from './node/node.ts';

let controlPlane: ControlPlaneHandle | undefined;
let broker: RabbitmqHandle | undefined;
let node: NodeHandle | undefined;
let dir: string | undefined;

export async function globalSetup(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'warren-testenv-'));
  const started = Date.now();
  const { unavailable } = planTestNode();
  const [cp, rmq] = await Promise.allSettled([
    startControlPlane({ dir: join(dir, 'control-plane'), forNode: unavailable === undefined }),
    startRabbitmq({ dir: join(dir, 'rabbitmq') }),
  ]);
  if (cp.status === 'fulfilled') controlPlane = cp.value;
  if (rmq.status === 'fulfilled') broker = rmq.value;
  stopOnExit(dir);
  if (cp.status === 'rejected' || rmq.status === 'rejected') {
    await globalTeardown();
    throw cp.status === 'rejected' ? cp.reason : (rmq as PromiseRejectedResult).reason;
  }
  const env = { controlPlane: cp.value, broker: rmq.value };
  Object.assign(process.env, {
    KUBECONFIG: env.controlPlane.kubeconfigPath,
    RABBITMQ_MANAGEMENT_URL: env.broker.managementUrl,
    RABBITMQ_AMQP_URL: env.broker.amqpUrl,
    RABBITMQ_USERNAME: env.broker.username,
    RABBITMQ_PASSWORD: env.broker.password,
    WARREN_TESTENV_DIR: dir,
    // kubectl keeps what it discovered of an API server for hours, by host and port; test API servers reuse
    // ports, so a cache shared across runs answers with another server's resources ("no resource type warren").
    KUBECACHEDIR: join(dir, 'kubectl-cache'),
    PATH: [join(env.controlPlane.kubectl, '..'), process.env.PATH].join(delimiter),
  });
  if (unavailable) {
    process.env.WARREN_NODE_UNAVAILABLE = unavailable;
    process.stderr.write(`no test node: ${unavailable}\n`);
  } else {
    try {
      const started = await startTestNode(join(dir, 'node'), env.controlPlane, env.broker);
      node = started.node;
      Object.assign(process.env, started.vars);
      process.stderr.write(`test node ${node.name} Ready in ${node.startSeconds.toFixed(1)}s\n`);
    } catch (err) {
      await globalTeardown();
      throw err;
    }
  }
  process.stderr.write(`test environment up in ${((Date.now() - started) / 1000).toFixed(1)}s: ${dir}\n`);
}

export async function globalTeardown(): Promise<void> {
  // The node first: its kubelet talks to the API server until it stops.
  await node?.stop();
  node = undefined;
  await Promise.all([controlPlane?.stop(), broker?.stop()]);
  controlPlane = broker = undefined;
  if (dir && process.env.WARREN_TESTENV_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
}
