// npm run testenv -- up|down|status
//
//   up      starts a control plane (CRDs from crds/ installed), a RabbitMQ node and, where this machine can run
//           one, the test node (kubelet, containerd, scheduler, kube-proxy, CoreDNS; node/node.ts) that keep
//           running after the command returns; builds the binaries and images first if they are missing, and
//           writes .testenv/env (`. .testenv/env` exports KUBECONFIG, RABBITMQ_MANAGEMENT_URL, RABBITMQ_AMQP_URL,
//           RABBITMQ_USERNAME, RABBITMQ_PASSWORD, WARREN_TESTENV_DIR, WARREN_RABBITMQ_IMAGE,
//           WARREN_OPERATOR_IMAGE, WARREN_AMQP_CHECK_IMAGE, WARREN_NODE_NAME, WARREN_NODE_IP, and puts the built
//           kubectl first on PATH).
//           Where no node can run, it says why in one line and starts the rest. When an environment is already
//           up it only reports it.
//   down    takes the node down (containers, mounts, cgroups, bridge, nftables), stops every process recorded
//           under .testenv/ by its PID, newest first, and removes .testenv/.
//           Processes started later on the environment (an operator run by the demo) are included when they
//           were recorded with recordProcess(pid, name) from test/env/process.ts.
//   status  lists the recorded processes and whether each still runs (exit code 1 when not fully up).
//
// Every process writes its log next to its record (.testenv/control-plane/*.log, .testenv/rabbitmq/*.log).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinaries } from './binaries.ts';
import { startControlPlane } from './control-plane.ts';
import { envFile, stopEnvironment, stopOnExit, type EnvFileValues } from './environment.ts';
import { defaultEnvDir, findRecords, isRunning, TestEnvError } from './process.ts';
import { startRabbitmq } from './rabbitmq.ts';
import { planTestNode, startTestNode, type TestNodeVars } from './node/node.ts';

interface State extends EnvFileValues {
  apiServerUrl: string;
  nodeName: string;
  ports: Record<string, Record<string, number>>;
  node: TestNodeVars & { startSeconds?: number };
}

const envDir = defaultEnvDir();
const statePath = join(envDir, 'state.json');
const envFilePath = join(envDir, 'env');

function readState(): State | undefined {
  try {
    return JSON.parse(readFileSync(statePath, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** Running when it has a state file and every recorded process still runs. */
function runningState(): State | undefined {
  const state = readState();
  const records = findRecords(envDir);
  if (!state || records.length === 0) return undefined;
  return records.every(({ record }) => isRunning(record)) ? state : undefined;
}

function report(state: State, headline: string): void {
  process.stdout.write(
    [
      headline,
      `  kube-apiserver  ${state.apiServerUrl}   (KUBECONFIG=${state.kubeconfigPath})`,
      `  RabbitMQ        ${state.managementUrl}  amqp://127.0.0.1:${state.ports.rabbitmq?.amqp ?? '?'}  node ${state.nodeName}`,
      state.node.WARREN_NODE_NAME
        ? `  node            ${state.node.WARREN_NODE_NAME} at ${state.node.WARREN_NODE_IP ?? '?'}, images ${state.node.WARREN_RABBITMQ_IMAGE ?? '?'} ${state.node.WARREN_OPERATOR_IMAGE ?? '?'} ${state.node.WARREN_AMQP_CHECK_IMAGE ?? '?'}`
        : `  node            none: ${state.node.WARREN_NODE_UNAVAILABLE ?? 'unknown'}`,
      `  logs            ${envDir}/{control-plane,rabbitmq,node}/*.log`,
      `Use it with: . ${envFilePath}`,
      '',
    ].join('\n'),
  );
}

async function up(): Promise<void> {
  const running = runningState();
  if (running) {
    report(running, 'The test environment is already running.');
    return;
  }
  if (findRecords(envDir).length > 0) {
    process.stderr.write(
      'A previous test environment is partly gone; stopping the rest before starting anew.\n',
    );
  }
  await stopEnvironment(envDir);
  rmSync(envDir, { recursive: true, force: true });

  const bins = ensureBinaries();
  const started = Date.now();
  // Until `up` succeeds, an interrupted or failed start leaves nothing running.
  const cancelSafetyNet = stopOnExit(envDir);
  const { unavailable } = planTestNode();
  if (unavailable) process.stderr.write(`No test node: ${unavailable}.\n`);
  const [cp, rmq] = await Promise.allSettled([
    startControlPlane({ dir: join(envDir, 'control-plane'), forNode: unavailable === undefined }),
    startRabbitmq({ dir: join(envDir, 'rabbitmq') }),
  ]);
  if (cp.status === 'rejected' || rmq.status === 'rejected') {
    await stopEnvironment(envDir);
    throw cp.status === 'rejected' ? cp.reason : (rmq as PromiseRejectedResult).reason;
  }
  let node: State['node'] = { WARREN_NODE_UNAVAILABLE: unavailable };
  if (!unavailable) {
    try {
      const started = await startTestNode(join(envDir, 'node'), cp.value, rmq.value);
      node = { ...started.vars, startSeconds: started.node.startSeconds };
    } catch (err) {
      await stopEnvironment(envDir);
      throw err;
    }
  }
  cancelSafetyNet();
  const state: State = {
    kubeconfigPath: cp.value.kubeconfigPath,
    apiServerUrl: cp.value.apiServerUrl,
    managementUrl: rmq.value.managementUrl,
    amqpUrl: rmq.value.amqpUrl,
    username: rmq.value.username,
    password: rmq.value.password,
    nodeName: rmq.value.nodeName,
    kubeBinDir: bins.kubeBinDir,
    ports: { controlPlane: { ...cp.value.ports }, rabbitmq: { ...rmq.value.ports } },
    node,
  };
  writeFileSync(statePath, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  writeFileSync(envFilePath, envFile(state, envDir), { mode: 0o600 });
  report(state, `The test environment is up (${((Date.now() - started) / 1000).toFixed(1)}s).`);
}

async function down(): Promise<void> {
  const stopped = await stopEnvironment(envDir);
  rmSync(envDir, { recursive: true, force: true });
  process.stdout.write(
    stopped.length > 0 ? `Stopped ${stopped.join(', ')}.\n` : 'No test environment was running.\n',
  );
}

function status(): number {
  const records = findRecords(envDir);
  if (records.length === 0) {
    process.stdout.write('No test environment is running (start one with `npm run testenv -- up`).\n');
    return 1;
  }
  for (const { record } of [...records].reverse()) {
    process.stdout.write(
      `${isRunning(record) ? 'running' : 'stopped'}  ${record.name} (pid ${record.pid})\n`,
    );
  }
  const state = runningState();
  if (state) report(state, 'The test environment is up.');
  else process.stdout.write('The test environment is not fully up: `npm run testenv -- down`, then `up`.\n');
  return state ? 0 : 1;
}

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up':
      await up();
      return 0;
    case 'down':
      await down();
      return 0;
    case 'status':
      return status();
    default:
      process.stderr.write('usage: npm run testenv -- up|down|status\n');
      return 2;
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv[2]);
  } catch (err) {
    // Known failures (a missing prerequisite, a component that did not start) speak for themselves.
    process.stderr.write(
      `${err instanceof TestEnvError ? err.message : String(err instanceof Error ? err.stack : err)}\n`,
    );
    process.exitCode = 1;
  }
}
