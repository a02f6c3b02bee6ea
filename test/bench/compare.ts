// `npm run bench -- compare --objects N`: the same workload through Warren and through the official RabbitMQ
// messaging topology operator, one after the other on the same test environment, and what each costs.
//
// The workload is the mix of topology-mix.ts, as Warren's resources and as the official operator's
// (rabbitmq.com/v1beta1, same names, so the same broker objects). For each operator, in a namespace of its own:
// start it (idle memory with nothing cached), create the N objects 32 at a time and wait until all are Ready,
// restart it and wait until the new process has reconciled every object (the resync), then delete everything
// and wait until the last object is gone. Both operators run built (Warren with the command of `npm start`, the
// official one from its Go module, see official-operator.ts) in a memory cgroup of the chart's limit, and both
// reach the broker through one counting proxy (counting-proxy.ts) named in their connection Secret, so their
// broker requests are counted alike. The API server floor of harness.ts, measured last, gives the least time
// any operator needs for the same objects on the same machine.
//
// Warren runs as the chart installs it: with the finalizer admission policy, and with a pod's service account
// where the bench runs as root. The official operator runs with the bench's kubeconfig.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { accessFromKubeConfig } from '../../src/runtime/api-server.ts';
import { KubeClient } from '../../src/runtime/kube-client.ts';
import { coreResources, type KubeObject, type ResourceRef } from '../../src/runtime/resource.ts';
import { clusterCa } from '../env/shared.ts';
import { comparisonTable, type Comparison, type OperatorFigures } from './compare-table.ts';
import { countsSince, startCountingProxy, totalOf, type CountingProxy } from './counting-proxy.ts';
import {
  buildOperator,
  chartMemoryLimitMiB,
  cpuSeconds,
  environment,
  inParallel,
  installFinalizerPolicy,
  log,
  measureApiServer,
  memoryMiB,
  mixKinds,
  round,
  scrapeWhenUp,
  startWarren,
  waitAllGone,
  waitAllReady,
  waitReconciled,
  warrenManifest,
  warrenResources,
  watchObjects,
  writeMethods,
  type Operator,
} from './harness.ts';
import {
  buildOfficialOperator,
  installOfficialCrds,
  officialManifest,
  officialResources,
  startOfficial,
} from './official-operator.ts';
import { podIdentity } from './pod-identity.ts';
import { countByKind, topologyMix, type MixKind, type MixObject } from './topology-mix.ts';

export interface CompareOptions {
  objects: number;
  /** Creates (and deletes) in flight against the API server, as a `kubectl apply` of many files makes them. */
  createConcurrency: number;
  timeoutMs: number;
}

type Broker = Awaited<ReturnType<typeof environment>>['broker'];

/** What differs between the two operators in a run: their resources, and how each is prepared and started. */
interface Contender {
  name: 'warren' | 'official';
  resources: Record<MixKind, ResourceRef>;
  manifest(object: MixObject, namespace: string, secret: string): KubeObject;
  /** Readies the namespace for this operator; returns how to start it and how to clean up after it. */
  prepare(
    kube: KubeClient,
    namespace: string,
  ): Promise<{ start(run: string): Promise<Operator>; credentials: string; cleanup(): Promise<void> }>;
}

const settleMs = 3_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the whole workload through one operator and returns its figures. */
async function runContender(
  contender: Contender,
  kube: KubeClient,
  proxy: CountingProxy,
  broker: Broker,
  objects: readonly MixObject[],
  options: CompareOptions,
): Promise<OperatorFigures & { credentials: string; memoryLimitMiB: number | null }> {
  const namespace = `compare-${contender.name}-${randomBytes(3).toString('hex')}`;
  log(`${contender.name}: namespace ${namespace}`);
  await kube.create(coreResources.namespace, { metadata: { name: namespace } });
  const secret = 'broker';
  await kube.create(coreResources.secret, {
    metadata: { name: secret, namespace, labels: { 'rabbitmq.com/topology-operator': 'true' } },
    stringData: { uri: proxy.url, username: broker.username, password: broker.password },
  });
  const prepared = await contender.prepare(kube, namespace);
  const watch = await watchObjects(kube, namespace, contender.resources);
  let operator: Operator | undefined;
  try {
    // Started with nothing to do: what the process holds before any object is cached.
    operator = await prepared.start('converge');
    await scrapeWhenUp(operator, 'controller_runtime_reconcile_total', 'controller');
    await sleep(settleMs);
    const idle = memoryMiB(operator.pid);
    log(`${contender.name}: idle RSS ${idle.rss.toFixed(1)} MiB`);

    const deadline = Date.now() + options.timeoutMs;
    const cpuBefore = cpuSeconds(operator.pid);
    const requestsBefore = proxy.counter.snapshot();
    const started = performance.now();
    await inParallel(objects, options.createConcurrency, async (object) => {
      await kube.create(contender.resources[object.kind], contender.manifest(object, namespace, secret));
    });
    const lastCreate = performance.now();
    log(
      `${contender.name}: created ${String(objects.length)} resources in ${((lastCreate - started) / 1000).toFixed(1)} s`,
    );
    await waitAllReady(watch, objects.length, deadline, operator);
    const allReady = performance.now();
    const converge = countsSince(requestsBefore, proxy.counter.snapshot());
    const cpu = cpuSeconds(operator.pid) - cpuBefore;
    const converged = memoryMiB(operator.pid);
    log(`${contender.name}: broker requests ${JSON.stringify(converge.byRoute)}`);

    // A new process reconciling the unchanged set.
    await operator.stop();
    operator = await prepared.start('resync');
    const resyncBefore = proxy.counter.snapshot();
    await scrapeWhenUp(operator, 'controller_runtime_reconcile_total', 'controller');
    const resyncCpuBefore = cpuSeconds(operator.pid);
    const resyncStarted = performance.now();
    await waitReconciled(operator, objects.length, Date.now() + options.timeoutMs);
    const resyncSeconds = (performance.now() - resyncStarted) / 1000;
    const resyncCpu = cpuSeconds(operator.pid) - resyncCpuBefore;
    const resync = countsSince(resyncBefore, proxy.counter.snapshot());
    const resynced = memoryMiB(operator.pid);
    log(`${contender.name}: resync broker requests ${JSON.stringify(resync.byRoute)}`);

    // Everything deleted, dependants first, as `kubectl delete` of the applied files would.
    const deletionBefore = proxy.counter.snapshot();
    const deletionStarted = performance.now();
    await inParallel([...objects].reverse(), options.createConcurrency, async (object) => {
      await kube.delete(contender.resources[object.kind], { namespace, name: object.name });
    });
    await waitAllGone(watch, Date.now() + options.timeoutMs, operator);
    const deletionSeconds = (performance.now() - deletionStarted) / 1000;
    const deletion = countsSince(deletionBefore, proxy.counter.snapshot());
    log(`${contender.name}: deletion broker requests ${JSON.stringify(deletion.byRoute)}`);
    const afterDeletion = memoryMiB(operator.pid);

    return {
      seconds: round((allReady - started) / 1000),
      secondsBehindLastCreate: round((allReady - lastCreate) / 1000),
      createSeconds: round((lastCreate - started) / 1000),
      brokerRequests: converge.byMethod,
      resyncWriteRequests: totalOf(resync.byMethod, writeMethods),
      resyncRequests: resync.byMethod,
      resyncSeconds: round(resyncSeconds),
      deletionRequests: totalOf(deletion.byMethod),
      deletionRequestsByMethod: deletion.byMethod,
      deletionSeconds: round(deletionSeconds),
      peakRssMiB: round(Math.max(converged.peak, afterDeletion.peak)),
      idleRssMiB: round(idle.rss),
      resyncRssMiB: round(resynced.rss),
      cpuSeconds: round(cpu),
      resyncCpuSeconds: round(resyncCpu),
      credentials: prepared.credentials,
      memoryLimitMiB: operator.memoryLimited ? chartMemoryLimitMiB() : null,
    };
  } finally {
    await operator?.stop();
    await watch.stop();
    await releaseLeftovers(kube, namespace, contender.resources);
    await prepared.cleanup();
    await kube.delete(coreResources.namespace, { namespace: '', name: namespace }).catch(() => undefined);
  }
}

/**
 * After a failed run, objects an operator no longer serves keep their finalizers and would hold the namespace
 * in Terminating for good; nobody will reconcile them, so their finalizers are taken off.
 */
async function releaseLeftovers(
  kube: KubeClient,
  namespace: string,
  resources: Record<MixKind, ResourceRef>,
): Promise<void> {
  for (const kind of mixKinds) {
    const list = await kube.list(resources[kind], { namespace }).catch(() => ({ items: [] as KubeObject[] }));
    await inParallel(list.items, 8, async (object) => {
      if (!object.metadata.finalizers?.length) return;
      await kube
        .jsonPatch(resources[kind], { namespace, name: object.metadata.name ?? '' }, [
          { op: 'remove', path: '/metadata/finalizers' },
        ])
        .catch(() => undefined);
    });
  }
}

/** Management API requests of the bench itself, straight to the broker (not through the proxy). */
async function management<T>(broker: Broker, method: string, path: string): Promise<T | undefined> {
  const response = await fetch(new URL(path, broker.url), {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${broker.username}:${broker.password}`).toString('base64')}`,
    },
  });
  if (!response.ok && response.status !== 404)
    throw new Error(`${method} ${path}: ${String(response.status)} ${await response.text()}`);
  const text = await response.text();
  return text ? (JSON.parse(text) as T) : undefined;
}

/**
 * The vhosts and users of the run's prefix still on the broker. An operator that left some behind is reported,
 * and they are removed so that the next operator starts from the same broker.
 */
async function brokerLeftovers(broker: Broker, prefix: string, remove: boolean): Promise<number> {
  const vhosts = ((await management<{ name: string }[]>(broker, 'GET', '/api/vhosts')) ?? [])
    .map((vhost) => vhost.name)
    .filter((name) => name.startsWith(`${prefix}-`));
  const users = ((await management<{ name: string }[]>(broker, 'GET', '/api/users')) ?? [])
    .map((user) => user.name)
    .filter((name) => name.startsWith(`${prefix}-`));
  if (remove) {
    for (const vhost of vhosts)
      await management(broker, 'DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`);
    for (const user of users) await management(broker, 'DELETE', `/api/users/${encodeURIComponent(user)}`);
  }
  return vhosts.length + users.length;
}

export interface CompareResult extends Comparison {
  [key: string]: unknown;
}

export async function runComparison(
  options: CompareOptions,
): Promise<{ table: string; result: CompareResult }> {
  const env = await environment();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(env.kubeconfigPath);
  const kube = new KubeClient(accessFromKubeConfig(kubeConfig));
  const proxy = await startCountingProxy(env.broker.url);
  try {
    buildOperator();
    const official = buildOfficialOperator();
    await installOfficialCrds(kube, official.crdDir);

    const prefix = `c${randomBytes(2).toString('hex')}`;
    const objects = topologyMix(options.objects, prefix);
    log(`mix: ${JSON.stringify(countByKind(objects))}`);

    const contenders: Contender[] = [
      {
        name: 'warren',
        resources: warrenResources,
        manifest: warrenManifest,
        prepare: async (client, namespace) => {
          // As the chart installs it: the finalizer policy, and a pod's identity where this machine allows one.
          const removePolicy = await installFinalizerPolicy(client, [namespace]);
          const pod = await podIdentity(client, namespace, clusterCa(kubeConfig));
          return {
            start: (run) => startWarren({ kubeconfigPath: env.kubeconfigPath, namespace, run, pod }),
            credentials: pod ? 'service account, as in a pod' : 'kubeconfig',
            cleanup: async () => {
              await removePolicy();
              pod?.remove();
            },
          };
        },
      },
      {
        name: 'official',
        resources: officialResources,
        manifest: officialManifest,
        prepare: (_client, namespace) =>
          Promise.resolve({
            start: (run: string) =>
              startOfficial({ build: official, kubeconfigPath: env.kubeconfigPath, namespace, run }),
            credentials: 'kubeconfig',
            cleanup: () => Promise.resolve(),
          }),
      },
    ];
    const figures: Record<string, Awaited<ReturnType<typeof runContender>>> = {};
    const leftovers: Record<string, number> = {};
    for (const contender of contenders) {
      figures[contender.name] = await runContender(contender, kube, proxy, env.broker, objects, options);
      leftovers[contender.name] = await brokerLeftovers(env.broker, prefix, true);
    }

    // Last, so that its scratch objects, deleted in the background, cannot slow either operator.
    const apiServer = await measureApiServer(
      kube,
      Math.min(objects.length, 2000),
      options.createConcurrency,
      'policy',
    );
    const result: CompareResult = {
      objects: objects.length,
      mix: countByKind(objects),
      machine: { cpus: cpus().length, loadAverage: loadavg().map(round) },
      apiServerFloorSeconds: round(apiServer.floorSeconds(objects.length)),
      apiServerWritesPerSecond: Object.fromEntries(
        Object.entries(apiServer.perSecond).map(([write, perSecond]) => [write, round(perSecond)]),
      ),
      brokerObjectsLeftAfterDeletion: leftovers,
      warren: figures.warren!,
      official: figures.official!,
    };
    return { table: comparisonTable(result), result };
  } finally {
    await proxy.close();
    await kube.close();
    await env.stop();
  }
}
