// `npm run bench -- topology --objects N`: how fast the operator converges N topology objects, how many
// management requests it spends, how many writes a full resync of the unchanged set makes (the answer
// should be zero), how much memory the operator holds, and the broker's own limit for comparison: plain
// PUTs of the same objects straight to the management API with 8 requests in flight.
//
// The environment is the running `npm run testenv -- up` one when its env file exists (or KUBECONFIG and
// RABBITMQ_* are set), else a control plane and a broker started here and stopped at the end. The
// operator is built (`dist/`) and runs as a child process with the command of `npm start`, exactly as it
// runs in the image, in a memory cgroup of the chart's limit where the machine allows one (see
// memory-limit.ts); its request counts and heap come from its /metrics endpoint, its memory from /proc.
//
// The API server has a limit of its own, and on a small machine it is the tighter one: every object costs
// it the create, the finalizer patch, the status patch and the Created Event. The same four writes on
// scratch objects, without the operator, give `apiServerFloorSeconds`: the least time any operator needs.
// With `--finalizer-by policy` (the default, as the chart installs it) the finalizer policy of
// src/admission.ts is bound to the run's namespaces: the create carries the finalizer and the floor is three
// writes; `--finalizer-by operator` measures a cluster without the policy, where the operator patches it.
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { fetchSnapshot } from '../../src/rabbitmq/snapshot/index.ts';
import { ManagementClient } from '../../src/rabbitmq/management/client.ts';
import { managementRequestCounts, requestCountsSince } from '../../src/rabbitmq/metrics.ts';
import { accessFromKubeConfig } from '../../src/runtime/api-server.ts';
import { KubeClient } from '../../src/runtime/kube-client.ts';
import { coreResources } from '../../src/runtime/resource.ts';
import { clusterCa } from '../env/shared.ts';
import type { MountedServiceAccount } from '../env/service-account.ts';
import {
  buildOperator,
  byMethod,
  chartMemoryLimitMiB,
  environment,
  heapMiB,
  inParallel,
  installFinalizerPolicy,
  log,
  measureApiServer,
  memoryMiB,
  round,
  scrape,
  scrapeWhenUp,
  startWarren,
  waitAllReady,
  waitReconciled,
  warrenManifest,
  warrenResources,
  watchObjects,
  writeMethods,
  type Operator,
} from './harness.ts';
import { podIdentity } from './pod-identity.ts';
import { brokerWrites, countByKind, topologyMix } from './topology-mix.ts';

export interface TopologyBenchOptions {
  objects: number;
  /** Requests in flight for the raw PUT measurement (the issue fixes it at 8). */
  rawConcurrency: number;
  /** Creates in flight against the API server. */
  createConcurrency: number;
  timeoutMs: number;
  /** Skip the operator part (measure the broker alone). */
  rawOnly: boolean;
  /** Extra environment for the operator process (`KEY=value`). */
  operatorEnv: Record<string, string>;
  /** Who adds the finalizer: the admission policy at create, or the operator with a patch. */
  finalizerBy: 'policy' | 'operator';
}

// ---- the broker's own limit ------------------------------------------------------------------

interface RawResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  snapshotObjects: number;
  snapshotSeconds: number;
  snapshotHeapMiB: number;
}

/** Plain writes of the same mix (other names) straight to the management API, 8 in flight. */
async function measureRawPuts(
  client: ManagementClient,
  count: number,
  concurrency: number,
): Promise<RawResult> {
  const prefix = `raw${randomBytes(2).toString('hex')}`;
  const objects = topologyMix(count, prefix);
  const stages = brokerWrites(objects);
  const requests = stages.reduce((total, stage) => total + stage.length, 0);
  const started = performance.now();
  // Stages keep dependencies first (vhosts and users, then what lives in them, then bindings).
  for (const stage of stages) {
    await inParallel(stage, concurrency, async (write) => {
      await client.request(write.method, write.path, write.body);
    });
  }
  const seconds = (performance.now() - started) / 1000;
  log(`raw: ${requests} writes in ${seconds.toFixed(1)} s`);
  // The live side of every diff, at this size: one bulk read, and what it holds in memory.
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const snapshotStarted = performance.now();
  const snapshot = await fetchSnapshot(client);
  const snapshotSeconds = (performance.now() - snapshotStarted) / 1000;
  globalThis.gc?.();
  const snapshotHeapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  log(
    `snapshot of ${snapshot.size} objects: ${snapshotSeconds.toFixed(2)} s, ~${snapshotHeapMiB.toFixed(1)} MiB heap; removing the raw objects`,
  );
  const vhosts = objects.filter((o) => o.kind === 'Vhost').map((o) => o.spec.name ?? o.name);
  const users = objects.filter((o) => o.kind === 'User').map((o) => o.name);
  await inParallel(vhosts, concurrency, async (vhost) => {
    await client.deleteVhost(vhost);
  });
  await inParallel(users, concurrency, async (user) => {
    await client.deleteUser(user);
  });
  return {
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    snapshotObjects: snapshot.size,
    snapshotSeconds,
    snapshotHeapMiB,
  };
}

// ---- the run ---------------------------------------------------------------------------------

export async function runTopologyBenchmark(options: TopologyBenchOptions): Promise<Record<string, unknown>> {
  const env = await environment();
  const client = new ManagementClient(env.broker, { concurrency: options.rawConcurrency });
  const objects = topologyMix(options.objects, `b${randomBytes(2).toString('hex')}`);
  log(`mix: ${JSON.stringify(countByKind(objects))}`);
  const result: Record<string, unknown> = { objects: objects.length, mix: countByKind(objects) };
  let operator: Operator | undefined;
  let pod: MountedServiceAccount | undefined;
  let removePolicy: (() => Promise<void>) | undefined;
  try {
    const before = managementRequestCounts();
    const raw = await measureRawPuts(client, options.objects, options.rawConcurrency);
    result.rawWrites = raw.requests;
    result.rawSeconds = round(raw.seconds);
    result.rawPutsPerSecond = round(raw.requestsPerSecond);
    result.rawManagementRequests = byMethod(requestCountsSince(before));
    result.snapshotObjects = raw.snapshotObjects;
    result.snapshotSeconds = round(raw.snapshotSeconds);
    result.snapshotHeapMiB = round(raw.snapshotHeapMiB);
    if (options.rawOnly) return result;

    buildOperator();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(env.kubeconfigPath);
    const kube = new KubeClient(accessFromKubeConfig(kubeConfig));

    const namespace = `bench-${randomBytes(3).toString('hex')}`;
    await kube.create(coreResources.namespace, { metadata: { name: namespace } });
    result.finalizerBy = options.finalizerBy;
    if (options.finalizerBy === 'policy') removePolicy = await installFinalizerPolicy(kube, [namespace]);
    const secret = 'broker';
    await kube.create(coreResources.secret, {
      metadata: { name: secret, namespace, labels: { 'rabbitmq.com/topology-operator': 'true' } },
      stringData: { uri: env.broker.url, username: env.broker.username, password: env.broker.password },
    });

    pod = await podIdentity(kube, namespace, clusterCa(kubeConfig));
    result.operatorCredentials = pod ? 'service account, as in a pod' : 'kubeconfig';
    const watch = await watchObjects(kube, namespace);
    operator = await startWarren({
      kubeconfigPath: env.kubeconfigPath,
      namespace,
      run: 'converge',
      pod,
      extraEnv: options.operatorEnv,
    });
    await scrapeWhenUp(operator, 'warren_management_requests_total', 'method');
    const deadline = Date.now() + options.timeoutMs;
    const started = performance.now();
    const createStarted = performance.now();
    await inParallel(objects, options.createConcurrency, async (object) => {
      await kube.create(warrenResources[object.kind], warrenManifest(object, namespace, secret));
    });
    result.createSeconds = round((performance.now() - createStarted) / 1000);
    log(`created ${objects.length} resources in ${String(result.createSeconds)} s`);
    await waitAllReady(watch, objects.length, deadline, operator);
    const seconds = (performance.now() - started) / 1000;
    await watch.stop();
    result.seconds = round(seconds);
    result.objectsPerSecond = round(objects.length / seconds);
    result.managementRequests = byMethod(
      await scrape(operator.metricsUrl, 'warren_management_requests_total', 'method'),
    );
    result.apiServerRequests = byMethod(
      await scrape(operator.metricsUrl, 'rest_client_requests_total', 'method'),
    );
    result.reconciles = await scrape(operator.metricsUrl, 'controller_runtime_reconcile_total', 'result');
    result.events = await scrape(operator.metricsUrl, 'warren_events_total', 'result');
    const memory = memoryMiB(operator.pid);
    result.operatorMemoryLimitMiB = operator.memoryLimited ? chartMemoryLimitMiB() : null;
    result.operatorRssMiB = round(memory.rss);
    result.operatorPeakRssMiB = round(memory.peak);
    const heap = await heapMiB(operator);
    result.operatorHeapUsedMiB = round(heap.used);
    result.operatorHeapTotalMiB = round(heap.total);

    // A full resync of the unchanged set: a new operator process reconciles every object from scratch.
    log('restarting the operator for a full resync of the unchanged set');
    await operator.stop();
    operator = await startWarren({
      kubeconfigPath: env.kubeconfigPath,
      namespace,
      run: 'resync',
      pod,
      extraEnv: options.operatorEnv,
    });
    const resyncStarted = performance.now();
    await waitReconciled(operator, objects.length, Date.now() + options.timeoutMs);
    result.resyncSeconds = round((performance.now() - resyncStarted) / 1000);
    const resyncRequests = byMethod(
      await scrape(operator.metricsUrl, 'warren_management_requests_total', 'method'),
    );
    result.resyncManagementRequests = resyncRequests;
    result.resyncWriteRequests = writeMethods.reduce(
      (total, method) => total + (resyncRequests[method] ?? 0),
      0,
    );
    const resyncMemory = memoryMiB(operator.pid);
    result.resyncOperatorPeakRssMiB = round(resyncMemory.peak);
    result.operatorRssMiB = round(Math.max(memory.rss, resyncMemory.rss));
    result.operatorToRawRatio = round(objects.length / seconds / raw.requestsPerSecond);
    await operator.stop();
    operator = undefined;

    // Last, so that its scratch objects, deleted in the background, cannot slow the operator's run.
    await removePolicy?.();
    removePolicy = undefined;
    const apiServer = await measureApiServer(
      kube,
      Math.min(objects.length, 2000),
      options.createConcurrency,
      options.finalizerBy,
    );
    result.apiServerWritesPerSecond = Object.fromEntries(
      Object.entries(apiServer.perSecond).map(([write, perSecond]) => [write, round(perSecond)]),
    );
    result.apiServerFloorSeconds = round(apiServer.floorSeconds(objects.length));
    result.operatorToApiServerFloorRatio = round(apiServer.floorSeconds(objects.length) / seconds);
    return result;
  } finally {
    await removePolicy?.();
    await operator?.stop();
    pod?.remove();
    await client.close();
    await env.stop();
  }
}
