// The operator in-process for topology tests: a Manager with the topology controllers against the test
// control plane, plus small helpers to apply objects, wait for Ready, and look at the broker directly.
// Every log line, Event, status and metric the operator produced is kept so a test can scan them for secrets.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { kinds } from '../../../src/api/kinds.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import { managementRequestCounts, requestCountsSince } from '../../../src/rabbitmq/metrics.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { consistentSettingsSchema } from '../../../src/settings.ts';
import { registerTopologyControllers, type TopologyControllers } from '../../../src/topology/controllers.ts';
import { apiServer, eventually, kubeConfig, testEnv } from '../../env/shared.ts';

// The shared environment helpers, re-exported so topology tests import everything from here.
export { createNamespace, eventually, kubeConfig, testEnv } from '../../env/shared.ts';

export const group = 'warren.dev';
export const version = 'v1alpha1';

export interface Operator {
  manager: Manager;
  topology: TopologyControllers;
  logs: string[];
  stop(): Promise<void>;
  /** Everything the operator said or wrote: logs, Events and statuses in `namespace`, metrics. */
  output(namespace: string): Promise<string>;
}

export async function startOperator(settings: Record<string, string> = {}): Promise<Operator> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const parsed = consistentSettingsSchema.parse({
    leaderElect: 'false',
    metricsBindAddress: '0',
    healthProbeBindAddress: '0',
    brokerRefreshInterval: '2s',
    backoffMax: '5s',
    gracefulShutdownTimeout: '5s',
    logLevel: 'debug',
    ...settings,
  });
  const manager = new Manager({
    apiServer: apiServer(),
    settings: parsed,
    logger: createLogger({ level: 'debug', destination }),
  });
  const topology = registerTopologyControllers(manager, parsed);
  await manager.start();
  return {
    manager,
    topology,
    logs,
    stop: () => manager.stop(),
    output: async (namespace) => {
      const events = await core().listNamespacedEvent({ namespace });
      const objects = await Promise.all(
        topologyPlurals.map((plural) =>
          custom().listNamespacedCustomObject({ group, version, namespace, plural }),
        ),
      );
      return [
        logs.join(''),
        JSON.stringify(events.items.map((e) => [e.reason, e.message])),
        JSON.stringify(
          objects.map((list) => (list as { items: { status?: unknown }[] }).items.map((o) => o.status)),
        ),
        await manager.registry.metrics(),
      ].join('\n');
    },
  };
}

export const core = () => kubeConfig().makeApiClient(CoreV1Api);
export const custom = () => kubeConfig().makeApiClient(CustomObjectsApi);

export interface TopologyObject {
  metadata: {
    name: string;
    namespace: string;
    generation?: number;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    username?: string;
    credentials?: { name: string };
  };
}

// Every kind Warren serves, from its registration: a new kind needs no line here.
const plurals: Record<string, string> = Object.fromEntries(kinds.map((k) => [k.kind, k.plural]));
const topologyPlurals = kinds.filter((k) => k.kind !== 'RabbitmqCluster').map((k) => k.plural);

export function pluralOf(kind: string): string {
  const plural = plurals[kind];
  if (!plural) throw new Error(`unknown kind ${kind}`);
  return plural;
}

export async function create(
  kind: string,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await custom().createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: pluralOf(kind),
    body: { apiVersion: `${group}/${version}`, kind, metadata: { name, namespace }, spec },
  });
}

export async function patchSpec(
  kind: string,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await custom().patchNamespacedCustomObject(
    { group, version, namespace, plural: pluralOf(kind), name, body: { spec } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export async function get(
  kind: string,
  namespace: string,
  name: string,
): Promise<TopologyObject | undefined> {
  try {
    return (await custom().getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: pluralOf(kind),
      name,
    })) as TopologyObject;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

export async function remove(kind: string, namespace: string, name: string): Promise<void> {
  await custom().deleteNamespacedCustomObject({ group, version, namespace, plural: pluralOf(kind), name });
}

export function ready(obj: TopologyObject | undefined) {
  return obj?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Waits until the object is Ready=True for its current generation. */
export async function waitReady(kind: string, namespace: string, name: string): Promise<TopologyObject> {
  return eventually(`${kind} ${namespace}/${name} Ready`, async () => {
    const obj = await get(kind, namespace, name);
    return ready(obj)?.status === 'True' && obj?.status?.observedGeneration === obj?.metadata.generation
      ? obj
      : undefined;
  });
}

/** Waits until the Ready condition has this reason (and status False), returning the object. */
export async function waitReason(
  kind: string,
  namespace: string,
  name: string,
  reason: string,
): Promise<TopologyObject> {
  return eventually(`${kind} ${namespace}/${name} reason ${reason}`, async () => {
    const obj = await get(kind, namespace, name);
    return ready(obj)?.reason === reason ? obj : undefined;
  });
}

export async function waitGone(kind: string, namespace: string, name: string): Promise<void> {
  await eventually(
    `${kind} ${namespace}/${name} gone`,
    async () => (await get(kind, namespace, name)) === undefined,
  );
}

/** A connection Secret pointing at the shared test broker (or another one). */
export async function createConnectionSecret(
  namespace: string,
  name: string,
  broker: { managementUrl: string; username: string; password: string } = testEnv(),
): Promise<void> {
  await core().createNamespacedSecret({
    namespace,
    body: {
      metadata: { name, namespace },
      stringData: { uri: broker.managementUrl, username: broker.username, password: broker.password },
    },
  });
}

/** Direct management API access, for checking the broker and changing it behind the operator's back. */
export function broker(target: { managementUrl: string; username: string; password: string } = testEnv()) {
  const auth = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${target.managementUrl}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  return {
    call,
    /** GET that resolves undefined on 404. */
    async get<T>(path: string): Promise<T | undefined> {
      const { status, body } = await call('GET', path);
      if (status === 404) return undefined;
      if (status >= 300) throw new Error(`GET ${path}: HTTP ${status}`);
      return body as T;
    },
  };
}

export const enc = encodeURIComponent;

export { sleep };

/**
 * Waits two refresh intervals (2 s in these tests) and asserts that no PUT, POST or DELETE reached any broker
 * meanwhile, though the broker was read: the proof that an unchanged object costs no write.
 */
export async function assertNoBrokerWrites(ms = 5000): Promise<void> {
  const before = managementRequestCounts();
  await sleep(ms);
  const during = requestCountsSince(before);
  const writes = { PUT: during.PUT ?? 0, POST: during.POST ?? 0, DELETE: during.DELETE ?? 0 };
  assert.deepEqual(writes, { PUT: 0, POST: 0, DELETE: 0 }, `requests meanwhile: ${JSON.stringify(during)}`);
  assert.ok((during.GET ?? 0) > 0, 'the broker was read meanwhile');
}
