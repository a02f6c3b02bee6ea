// A fleet of topology objects in one namespace, all on one broker through a connection Secret, and the checks the
// fault suite makes of it: every object Ready for its generation, no finalizer left behind, and the broker holding
// exactly the fleet's objects (none missing, none extra, no duplicate user).
//
// The mix repeats a team of ten: a topic exchange, four queues (the first a quorum queue), two bindings, a policy,
// a user and its permission; one Vhost object holds them all.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { evidence } from './evidence.ts';

export const group = 'warren.dev';
export const version = 'v1alpha1';
export const plurals = {
  Vhost: 'vhosts',
  User: 'users',
  Permission: 'permissions',
  Exchange: 'exchanges',
  Queue: 'queues',
  Binding: 'bindings',
  Policy: 'policies',
} as const;
export type Kind = keyof typeof plurals;

export interface Broker {
  managementUrl: string;
  username: string;
  password: string;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Obj {
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    generation?: number;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: { observedGeneration?: number; conditions?: Condition[]; username?: string };
}

export interface Manifest {
  kind: Kind;
  name: string;
  spec: Record<string, unknown>;
}

/** API access for one kubeconfig; every call is retried by the pollers, so an API outage is survived. */
export class Kube {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly kubeconfigPath: string;

  constructor(kubeconfigPath: string) {
    this.kubeconfigPath = kubeconfigPath;
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async createNamespace(name: string): Promise<string> {
    await this.core.createNamespace({ body: { metadata: { name, labels: { 'warren.dev/test': 'chaos' } } } });
    return name;
  }

  async connectionSecret(namespace: string, name: string, data: Record<string, string>): Promise<void> {
    await this.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: data } });
  }

  async create(namespace: string, m: Manifest): Promise<void> {
    await this.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: plurals[m.kind],
      body: { apiVersion: `${group}/${version}`, kind: m.kind, metadata: { name: m.name }, spec: m.spec },
    });
  }

  /** Creates with retries: for creates that must land while the API server may be away. */
  async createSurely(namespace: string, m: Manifest): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.create(namespace, m);
      } catch (err) {
        if ((err as { code?: number }).code === 409) return;
        if (attempt > 120) throw err;
        await sleep(500);
      }
    }
  }

  async remove(namespace: string, kind: Kind, name: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.custom.deleteNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: plurals[kind],
          name,
        });
        return;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return;
        if (attempt > 120) throw err;
        await sleep(500);
      }
    }
  }

  /** What an administrator does for an object stuck Terminating: remove its finalizers by hand. */
  async dropFinalizers(namespace: string, kind: Kind, name: string): Promise<void> {
    await this.custom
      .patchNamespacedCustomObject(
        { group, version, namespace, plural: plurals[kind], name, body: { metadata: { finalizers: null } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
      .catch(() => undefined);
  }

  async list(namespace: string, kind: Kind): Promise<Obj[]> {
    const list = (await this.custom.listNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: plurals[kind],
    })) as { items: Obj[] };
    return list.items.map((o) => ({ ...o, kind }));
  }

  async listAll(namespace: string): Promise<Obj[]> {
    const lists = await Promise.all((Object.keys(plurals) as Kind[]).map((k) => this.list(namespace, k)));
    return lists.flat();
  }

  /** Usernames of every User object in the cluster (any namespace). */
  async allUsernames(): Promise<Set<string>> {
    const list = (await this.custom.listClusterCustomObject({ group, version, plural: 'users' })) as {
      items: Obj[];
    };
    return new Set(list.items.flatMap((u) => (u.status?.username ? [u.status.username] : [])));
  }

  /** Events, statuses and Secrets' passwords of a namespace: the first two for the scan, the last as secrets. */
  async collect(namespace: string): Promise<void> {
    const events = await this.core.listNamespacedEvent({ namespace });
    evidence.add(
      `Events in ${namespace}`,
      JSON.stringify(events.items.map((e) => [e.reason, e.message, e.involvedObject.name])),
    );
    const objects = await this.listAll(namespace);
    evidence.add(`statuses in ${namespace}`, JSON.stringify(objects.map((o) => [o.kind, o.status])));
    const secrets = await this.core.listNamespacedSecret({ namespace });
    for (const secret of secrets.items) {
      for (const key of ['password', 'passwordHash', 'connection_string']) {
        const value = secret.data?.[key];
        if (value) {
          evidence.secret(`${key} of Secret ${namespace}/${secret.metadata?.name}`, atob(value));
        }
      }
    }
  }
}

export const readyOf = (o: Obj | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');
export const isReady = (o: Obj) =>
  readyOf(o)?.status === 'True' && o.status?.observedGeneration === o.metadata.generation;

/** Objects `from` … `from + count - 1` of the mix in `vhost`, all through connection Secret `secret`. */
export function mix(from: number, count: number, vhost: string, secret: string): Manifest[] {
  const ref = { rabbitmqClusterReference: { connectionSecret: { name: secret } } };
  const out: Manifest[] = [];
  for (let i = from; i < from + count; i++) {
    const team = Math.floor(i / 10);
    const member = i % 10;
    const q = (n: number) => `q-${team}-${n}`;
    const m: Manifest | undefined =
      member === 0
        ? { kind: 'Exchange', name: `ex-${team}`, spec: { name: `ex-${team}`, vhost, type: 'topic' } }
        : member <= 4
          ? {
              kind: 'Queue',
              name: q(member),
              spec: { name: q(member), vhost, ...(member === 1 ? { type: 'quorum' } : {}) },
            }
          : member <= 6
            ? {
                kind: 'Binding',
                name: `b-${team}-${member - 4}`,
                spec: {
                  vhost,
                  source: `ex-${team}`,
                  destination: q(member - 4),
                  destinationType: 'queue',
                  routingKey: `team.${team}.${member - 4}`,
                },
              }
            : member === 7
              ? {
                  kind: 'Policy',
                  name: `pol-${team}`,
                  spec: {
                    name: `pol-${team}`,
                    vhost,
                    pattern: `^q-${team}-[2-4]$`,
                    applyTo: 'queues',
                    definition: { 'max-length': 1000 },
                  },
                }
              : member === 8
                ? { kind: 'User', name: `u-${team}`, spec: {} }
                : {
                    kind: 'Permission',
                    name: `perm-${team}`,
                    spec: {
                      vhost,
                      userReference: { name: `u-${team}` },
                      permissions: { configure: '', write: `^ex-${team}$`, read: `^q-${team}-` },
                    },
                  };
    out.push({ ...m, spec: { ...m.spec, ...ref } });
  }
  return out;
}

/** Management API access for checks (never through the operator). */
export function management(broker: Broker) {
  const auth = `Basic ${Buffer.from(`${broker.username}:${broker.password}`).toString('base64')}`;
  return async <T>(path: string): Promise<T | undefined> => {
    const response = await fetch(`${broker.managementUrl}${path}`, {
      headers: { authorization: auth },
      signal: AbortSignal.timeout(30_000),
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
}

export async function putVhost(broker: Broker, vhost: string, method: 'PUT' | 'DELETE'): Promise<void> {
  const auth = `Basic ${Buffer.from(`${broker.username}:${broker.password}`).toString('base64')}`;
  await fetch(`${broker.managementUrl}/api/vhosts/${encodeURIComponent(vhost)}`, {
    method,
    headers: { authorization: auth },
  });
}

export interface Fleet {
  namespace: string;
  vhost: string;
  secret: string;
  broker: Broker;
  /** The objects that should exist now (the Vhost object included). */
  manifests: Map<string, Manifest>;
  /** Broker users when the fleet was made: another fleet's, or left behind before; not this fleet's to judge. */
  usersBefore: Set<string>;
}

export const keyOf = (kind: string, name: string) => `${kind}/${name}`;

export async function createFleet(
  kube: Kube,
  namespace: string,
  broker: Broker,
  vhost = namespace,
): Promise<Fleet> {
  await kube.createNamespace(namespace);
  const secret = 'broker';
  await kube.connectionSecret(namespace, secret, {
    uri: broker.managementUrl,
    username: broker.username,
    password: broker.password,
  });
  const users = (await management(broker)<{ name: string }[]>('/api/users')) ?? [];
  const usersBefore = new Set(users.map((u) => u.name));
  const fleet: Fleet = { namespace, vhost, secret, broker, manifests: new Map(), usersBefore };
  await apply(kube, fleet, [
    {
      kind: 'Vhost',
      name: 'vhost',
      spec: { name: vhost, rabbitmqClusterReference: { connectionSecret: { name: secret } } },
    },
  ]);
  return fleet;
}

/** Creates manifests, several at a time, and adds them to the fleet. */
export async function apply(kube: Kube, fleet: Fleet, manifests: Manifest[], surely = false): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < manifests.length) {
      const m = manifests[next++]!;
      fleet.manifests.set(keyOf(m.kind, m.name), m);
      await (surely ? kube.createSurely(fleet.namespace, m) : kube.create(fleet.namespace, m));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Deletes objects, several at a time, and drops them from the fleet. */
export async function removeAll(kube: Kube, fleet: Fleet, manifests: Manifest[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < manifests.length) {
      const m = manifests[next++]!;
      fleet.manifests.delete(keyOf(m.kind, m.name));
      await kube.remove(fleet.namespace, m.kind, m.name);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

export interface Progress {
  ready: number;
  total: number;
  /** Objects still present that the fleet no longer holds: being deleted, or stuck. */
  leaving: number;
  unready: Obj[];
  stuck: Obj[];
}

export async function progress(kube: Kube, fleet: Fleet): Promise<Progress> {
  const objects = await kube.listAll(fleet.namespace);
  const wanted = objects.filter((o) => fleet.manifests.has(keyOf(o.kind!, o.metadata.name)));
  const leaving = objects.filter((o) => !fleet.manifests.has(keyOf(o.kind!, o.metadata.name)));
  const unready = [
    ...wanted.filter((o) => !isReady(o) || o.metadata.deletionTimestamp),
    // Wanted but not even created: counts as un-Ready.
    ...[...fleet.manifests.values()]
      .filter((m) => !wanted.some((o) => o.kind === m.kind && o.metadata.name === m.name))
      .map((m) => ({ kind: m.kind, metadata: { name: m.name, namespace: fleet.namespace } })),
  ];
  return {
    ready: wanted.length - unready.length + (fleet.manifests.size - wanted.length),
    total: fleet.manifests.size,
    leaving: leaving.length,
    unready,
    stuck: leaving,
  };
}

/**
 * Polls until every wanted object is Ready and every unwanted one is gone; resolves with the seconds that took,
 * or with the last progress when `limitMs` passed first. API errors count as "not yet".
 */
export async function converge(
  kube: Kube,
  fleet: Fleet,
  limitMs: number,
): Promise<{ seconds: number; done: boolean; last?: Progress }> {
  const started = performance.now();
  let last: Progress | undefined;
  for (;;) {
    try {
      last = await progress(kube, fleet);
      if (last.unready.length === 0 && last.leaving === 0) {
        return { seconds: (performance.now() - started) / 1000, done: true, last };
      }
    } catch {
      // the API server is away; keep polling
    }
    if (performance.now() - started > limitMs) {
      return { seconds: (performance.now() - started) / 1000, done: false, last };
    }
    await sleep(250);
  }
}

/** What a progress that did not finish says, for a problem line. */
export function describeProgress(p: Progress | undefined): string {
  if (!p) return 'the API server never answered';
  const show = (o: Obj) => {
    const r = readyOf(o);
    return `${o.kind}/${o.metadata.name}${o.metadata.deletionTimestamp ? ' (Terminating)' : ''}: ${
      r ? `${r.status} ${r.reason ?? ''} ${(r.message ?? '').slice(0, 160)}` : 'no status'
    }`;
  };
  return [
    `${p.ready}/${p.total} Ready, ${p.leaving} left to delete`,
    ...p.unready.slice(0, 5).map(show),
    ...p.stuck.slice(0, 5).map(show),
  ].join('; ');
}

interface BrokerBinding {
  source: string;
  destination: string;
  destination_type: string;
  routing_key: string;
}

/**
 * What the broker holds against what the fleet wants: objects missing and extra (by kind and name), and broker
 * users no User object in the cluster accounts for (a duplicate made by a repeated create).
 */
export async function brokerDifferences(
  kube: Kube,
  fleet: Fleet,
): Promise<{ missing: string[]; extra: string[]; objects: number }> {
  const get = management(fleet.broker);
  const v = encodeURIComponent(fleet.vhost);
  const manifests = [...fleet.manifests.values()];
  const want = (kind: Kind) => manifests.filter((m) => m.kind === kind);
  const objects = await kube.listAll(fleet.namespace);
  const usernameOf = new Map(
    objects.filter((o) => o.kind === 'User').map((o) => [o.metadata.name, o.status?.username]),
  );
  const expected = new Set<string>();
  const actual = new Set<string>();
  const vhostWanted = want('Vhost').length > 0;
  const vhost = await get<{ name: string }>(`/api/vhosts/${v}`);
  if (vhostWanted) expected.add(`vhost ${fleet.vhost}`);
  if (vhost) actual.add(`vhost ${fleet.vhost}`);
  for (const m of want('Queue')) expected.add(`queue ${m.spec.name as string}`);
  for (const m of want('Exchange')) expected.add(`exchange ${m.spec.name as string}`);
  for (const m of want('Policy')) expected.add(`policy ${m.spec.name as string}`);
  for (const m of want('Binding')) {
    const s = m.spec;
    expected.add(`binding ${s.source as string}->${s.destination as string} ${s.routingKey as string}`);
  }
  for (const m of want('User'))
    expected.add(`user ${usernameOf.get(m.name) ?? `(no username yet: ${m.name})`}`);
  for (const m of want('Permission')) {
    const user = (m.spec.userReference as { name: string }).name;
    expected.add(`permission ${usernameOf.get(user) ?? `(no username yet: ${user})`}`);
  }
  if (vhost) {
    for (const q of (await get<{ name: string }[]>(`/api/queues/${v}`)) ?? []) actual.add(`queue ${q.name}`);
    for (const e of (await get<{ name: string }[]>(`/api/exchanges/${v}`)) ?? []) {
      if (e.name !== '' && !e.name.startsWith('amq.')) actual.add(`exchange ${e.name}`);
    }
    for (const p of (await get<{ name: string }[]>(`/api/policies/${v}`)) ?? [])
      actual.add(`policy ${p.name}`);
    for (const b of (await get<BrokerBinding[]>(`/api/bindings/${v}`)) ?? []) {
      if (b.source !== '') actual.add(`binding ${b.source}->${b.destination} ${b.routing_key}`);
    }
    for (const p of (await get<{ user: string }[]>(`/api/vhosts/${v}/permissions`)) ?? []) {
      if (p.user !== fleet.broker.username) actual.add(`permission ${p.user}`);
    }
  }
  // Users are per broker, not per vhost: one no User object anywhere names is extra.
  const accounted = await kube.allUsernames();
  const brokerUsers = (await get<{ name: string; password_hash?: string }[]>('/api/users')) ?? [];
  for (const u of brokerUsers) {
    evidence.secret(`password hash of broker user ${u.name}`, u.password_hash);
    if (u.name === fleet.broker.username || fleet.usersBefore.has(u.name)) continue;
    if ([...usernameOf.values()].includes(u.name)) actual.add(`user ${u.name}`);
    else if (!accounted.has(u.name)) {
      actual.add(`user ${u.name} (no User object names it: a duplicate, or left behind by a deleted User)`);
    }
  }
  return {
    missing: [...expected].filter((x) => !actual.has(x)),
    extra: [...actual].filter((x) => !expected.has(x)),
    objects: actual.size,
  };
}
