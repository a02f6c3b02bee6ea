// The live side of every topology diff: one bulk snapshot of a broker's objects, indexed for
// O(1) lookups by identity, shared by all reconciles of that broker.
//
// Freshness: writes made through a ManagementClient are applied to the cached snapshot as they
// succeed (write-through), so a reconcile right after another one's write sees it without a
// refetch; with 10,000 objects a refetch per write would be quadratic. Writes that land while a
// fetch is in flight are journalled and replayed onto its result, because the broker may have
// answered the fetch before the write. A periodic refresh (and any refetch) compares the new
// snapshot with the previous one and reports what changed behind our back (drift).
import { isDeepStrictEqual } from 'node:util';
import { BrokerError } from './errors.ts';
import type { ManagementClient } from './management.ts';
import { canonicalJson, normaliseTags } from './normalise.ts';
import type { BrokerWrite } from './writes.ts';
import type {
  Binding,
  Definitions,
  DestinationType,
  Exchange,
  ListedVhost,
  Parameter,
  Permission,
  Policy,
  Queue,
  TopicPermission,
  User,
  Vhost,
} from './types.ts';

// ---- identities ------------------------------------------------------------------------

/** Unambiguous map keys for broker identities (names may contain any character). */
export const snapshotKeys = {
  vhost: (name: string): string => name,
  user: (name: string): string => name,
  permission: (vhost: string, user: string): string => JSON.stringify([vhost, user]),
  topicPermission: (vhost: string, user: string, exchange: string): string =>
    JSON.stringify([vhost, user, exchange]),
  exchange: (vhost: string, name: string): string => JSON.stringify([vhost, name]),
  queue: (vhost: string, name: string): string => JSON.stringify([vhost, name]),
  policy: (vhost: string, name: string): string => JSON.stringify([vhost, name]),
  parameter: (component: string, vhost: string, name: string): string =>
    JSON.stringify([component, vhost, name]),
  /** A binding is its whole tuple: source, destination, routing key and arguments. */
  binding: (b: Binding): string =>
    JSON.stringify([
      b.vhost,
      b.source,
      b.destination_type,
      b.destination,
      b.routing_key,
      canonicalJson(b.arguments),
    ]),
} as const;

export interface ObjectShapes {
  vhost: Vhost;
  user: User;
  permission: Permission;
  topicPermission: TopicPermission;
  exchange: Exchange;
  queue: Queue;
  binding: Binding;
  policy: Policy;
}

export type ObjectKind = keyof ObjectShapes;

export const objectKinds: readonly ObjectKind[] = [
  'vhost',
  'user',
  'permission',
  'topicPermission',
  'exchange',
  'queue',
  'binding',
  'policy',
];

// ---- snapshot --------------------------------------------------------------------------

export class BrokerSnapshot {
  readonly brokerId: string;
  /** When the fetch began (epoch ms): the broker's state is at least this recent. */
  readonly fetchedAt: number;
  readonly brokerVersion: string | undefined;
  readonly vhosts = new Map<string, Vhost>();
  readonly users = new Map<string, User>();
  readonly permissions = new Map<string, Permission>();
  readonly topicPermissions = new Map<string, TopicPermission>();
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  /** All bindings by their whole tuple; change them through addBinding/removeBinding. */
  readonly allBindings = new Map<string, Binding>();
  /** Bindings between one source and one destination, for listing without a scan. */
  readonly #bindingsByEnds = new Map<string, Map<string, Binding>>();
  readonly policies = new Map<string, Policy>();
  /** Runtime parameters other than vhost limits (federation upstreams, shovels, …). */
  readonly parameters = new Map<string, Parameter>();
  /**
   * Vhosts whose contents could not be read (the broker failed to export them); their
   * objects are carried over from the previous snapshot and must not count as deleted.
   */
  readonly unreadableVhosts = new Set<string>();

  constructor(brokerId: string, fetchedAt: number, brokerVersion?: string) {
    this.brokerId = brokerId;
    this.fetchedAt = fetchedAt;
    this.brokerVersion = brokerVersion;
  }

  map<K extends ObjectKind>(kind: K): Map<string, ObjectShapes[K]> {
    const maps: { [Kind in ObjectKind]: Map<string, ObjectShapes[Kind]> } = {
      vhost: this.vhosts,
      user: this.users,
      permission: this.permissions,
      topicPermission: this.topicPermissions,
      exchange: this.exchanges,
      queue: this.queues,
      binding: this.allBindings,
      policy: this.policies,
    };
    return maps[kind];
  }

  get size(): number {
    return objectKinds.reduce((total, kind) => total + this.map(kind).size, 0);
  }

  vhost(name: string): Vhost | undefined {
    return this.vhosts.get(name);
  }
  user(name: string): User | undefined {
    return this.users.get(name);
  }
  permission(vhost: string, user: string): Permission | undefined {
    return this.permissions.get(snapshotKeys.permission(vhost, user));
  }
  topicPermission(vhost: string, user: string, exchange: string): TopicPermission | undefined {
    return this.topicPermissions.get(snapshotKeys.topicPermission(vhost, user, exchange));
  }
  exchange(vhost: string, name: string): Exchange | undefined {
    return this.exchanges.get(snapshotKeys.exchange(vhost, name));
  }
  queue(vhost: string, name: string): Queue | undefined {
    return this.queues.get(snapshotKeys.queue(vhost, name));
  }
  policy(vhost: string, name: string): Policy | undefined {
    return this.policies.get(snapshotKeys.policy(vhost, name));
  }
  /** Whether exactly this binding (routing key and arguments included) exists. */
  hasBinding(binding: Binding): boolean {
    return this.allBindings.has(snapshotKeys.binding(binding));
  }
  /** The bindings from a source exchange to a destination, as the broker would list them. */
  bindings(vhost: string, source: string, destinationType: DestinationType, destination: string): Binding[] {
    const between = this.#bindingsByEnds.get(JSON.stringify([vhost, source, destinationType, destination]));
    return between === undefined ? [] : [...between.values()];
  }
  addBinding(binding: Binding): void {
    const key = snapshotKeys.binding(binding);
    this.allBindings.set(key, binding);
    const ends = JSON.stringify([
      binding.vhost,
      binding.source,
      binding.destination_type,
      binding.destination,
    ]);
    let between = this.#bindingsByEnds.get(ends);
    if (between === undefined) {
      between = new Map<string, Binding>();
      this.#bindingsByEnds.set(ends, between);
    }
    between.set(key, binding);
  }
  removeBinding(key: string): void {
    const binding = this.allBindings.get(key);
    if (binding === undefined) return;
    this.allBindings.delete(key);
    const ends = JSON.stringify([
      binding.vhost,
      binding.source,
      binding.destination_type,
      binding.destination,
    ]);
    const between = this.#bindingsByEnds.get(ends);
    between?.delete(key);
    if (between?.size === 0) this.#bindingsByEnds.delete(ends);
  }
  /** Removes the bindings that match (a deleted queue, exchange or vhost takes its bindings). */
  removeBindingsWhere(predicate: (binding: Binding) => boolean): void {
    for (const [key, binding] of this.allBindings) if (predicate(binding)) this.removeBinding(key);
  }
  /** Whether the objects of a vhost are known (false while the broker fails to export it). */
  isReadable(vhost: string): boolean {
    return !this.unreadableVhosts.has(vhost);
  }
}

// ---- building a snapshot from definitions ----------------------------------------------

function queueType(value: string | undefined): string | undefined {
  return value === undefined || value === '' || value === 'undefined' ? undefined : value;
}

function vhostFrom(listed: ListedVhost, limits: Record<string, number> | undefined): Vhost {
  const defaultQueueType = queueType(listed.default_queue_type ?? listed.metadata?.default_queue_type);
  return {
    name: listed.name,
    description: listed.description ?? listed.metadata?.description ?? '',
    tags: normaliseTags(listed.tags ?? listed.metadata?.tags),
    tracing: listed.tracing ?? false,
    ...(defaultQueueType === undefined ? {} : { default_queue_type: defaultQueueType }),
    limits: { ...limits },
  };
}

const vhostLimitsComponent = 'vhost-limits';

export interface SnapshotSources {
  definitions: Definitions;
  /** `GET /api/vhosts` with settings; the export of 3.10 lacks tags, description and tracing. */
  vhosts?: ListedVhost[];
  /** User limits by user, when the export has none (brokers before 3.10). */
  userLimits?: Map<string, Record<string, number>>;
  /** Vhost contents exported one vhost at a time (fallback path), by vhost. */
  vhostDefinitions?: Map<string, Definitions>;
  unreadableVhosts?: Iterable<string>;
}

function addVhostContents(
  snapshot: BrokerSnapshot,
  vhost: string | undefined,
  definitions: Definitions,
): void {
  const inVhost = <T extends { vhost?: string }>(item: T): T & { vhost: string } => ({
    ...item,
    vhost: item.vhost ?? vhost ?? '/',
  });
  for (const raw of definitions.queues ?? []) {
    const queue = inVhost(raw);
    snapshot.queues.set(snapshotKeys.queue(queue.vhost, queue.name), {
      name: queue.name,
      vhost: queue.vhost,
      durable: queue.durable,
      auto_delete: queue.auto_delete,
      arguments: queue.arguments,
    });
  }
  for (const raw of definitions.exchanges ?? []) {
    const exchange = inVhost(raw);
    snapshot.exchanges.set(snapshotKeys.exchange(exchange.vhost, exchange.name), {
      name: exchange.name,
      vhost: exchange.vhost,
      type: exchange.type,
      durable: exchange.durable,
      auto_delete: exchange.auto_delete,
      internal: exchange.internal,
      arguments: exchange.arguments,
    });
  }
  for (const raw of definitions.bindings ?? []) {
    const binding = inVhost(raw);
    const value: Binding = {
      vhost: binding.vhost,
      source: binding.source,
      destination: binding.destination,
      destination_type: binding.destination_type,
      routing_key: binding.routing_key,
      arguments: binding.arguments,
    };
    snapshot.addBinding(value);
  }
  for (const raw of definitions.policies ?? []) {
    const policy = inVhost(raw);
    snapshot.policies.set(snapshotKeys.policy(policy.vhost, policy.name), {
      name: policy.name,
      vhost: policy.vhost,
      pattern: policy.pattern,
      definition: policy.definition,
      priority: policy.priority,
      'apply-to': policy['apply-to'],
    });
  }
  for (const raw of definitions.parameters ?? []) {
    const parameter = inVhost(raw);
    if (parameter.component === vhostLimitsComponent) {
      const target = snapshot.vhosts.get(parameter.vhost);
      if (target !== undefined) target.limits = { ...(parameter.value as Record<string, number>) };
      continue;
    }
    snapshot.parameters.set(
      snapshotKeys.parameter(parameter.component, parameter.vhost, parameter.name),
      parameter,
    );
  }
}

/** Indexes what the broker exported. Pure: the same sources give the same snapshot. */
export function buildSnapshot(brokerId: string, fetchedAt: number, sources: SnapshotSources): BrokerSnapshot {
  const { definitions } = sources;
  const snapshot = new BrokerSnapshot(
    brokerId,
    fetchedAt,
    definitions.rabbitmq_version ?? definitions.rabbit_version,
  );
  const listed = new Map((sources.vhosts ?? []).map((vhost) => [vhost.name, vhost]));
  for (const exported of definitions.vhosts ?? []) {
    snapshot.vhosts.set(exported.name, vhostFrom({ ...exported, ...listed.get(exported.name) }, undefined));
  }
  // Vhosts listed but not exported (the per-vhost fallback path has no global vhost list).
  for (const vhost of listed.values()) {
    if (!snapshot.vhosts.has(vhost.name)) snapshot.vhosts.set(vhost.name, vhostFrom(vhost, undefined));
  }
  for (const user of definitions.users ?? []) {
    snapshot.users.set(user.name, {
      name: user.name,
      password_hash: user.password_hash,
      hashing_algorithm: user.hashing_algorithm,
      tags: normaliseTags(user.tags),
      limits: { ...(user.limits ?? sources.userLimits?.get(user.name)) },
    });
  }
  for (const permission of definitions.permissions ?? []) {
    snapshot.permissions.set(snapshotKeys.permission(permission.vhost, permission.user), { ...permission });
  }
  for (const permission of definitions.topic_permissions ?? []) {
    snapshot.topicPermissions.set(
      snapshotKeys.topicPermission(permission.vhost, permission.user, permission.exchange),
      { ...permission },
    );
  }
  addVhostContents(snapshot, undefined, definitions);
  for (const [vhost, perVhost] of sources.vhostDefinitions ?? []) addVhostContents(snapshot, vhost, perVhost);
  for (const vhost of sources.unreadableVhosts ?? []) snapshot.unreadableVhosts.add(vhost);
  return snapshot;
}

const vhostScopedObjects = ['exchange', 'queue', 'policy'] as const;

/** Keeps the last known objects of vhosts the broker could not export this time. */
export function carryOverUnreadable(next: BrokerSnapshot, previous: BrokerSnapshot | undefined): void {
  if (previous === undefined || next.unreadableVhosts.size === 0) return;
  for (const kind of vhostScopedObjects) {
    const target = next.map(kind) as Map<string, { vhost: string }>;
    for (const [key, value] of previous.map(kind) as Map<string, { vhost: string }>) {
      if (next.unreadableVhosts.has(value.vhost) && !target.has(key)) target.set(key, value);
    }
  }
  for (const binding of previous.allBindings.values()) {
    if (next.unreadableVhosts.has(binding.vhost)) next.addBinding(binding);
  }
}

/**
 * Reads a broker's topology in as few requests as the broker allows: the global export plus
 * the vhost list (3 requests). When the global export fails (a broker-side bug in one vhost,
 * e.g. 3.10 crashes formatting a binding whose routing key holds `~` and which has arguments),
 * it falls back to one export per vhost so one broken vhost does not blind every other one.
 */
export async function fetchSnapshot(client: ManagementClient): Promise<BrokerSnapshot> {
  const fetchedAt = Date.now();
  const vhostsRequest = client.listVhosts();
  // Handled now: it may fail while definitions() is still pending, which would be an unhandled rejection.
  vhostsRequest.catch(() => undefined);
  let definitions: Definitions;
  try {
    definitions = await client.definitions();
  } catch (error) {
    await vhostsRequest.catch(() => undefined);
    if (!(error instanceof BrokerError && error.reason === 'BrokerInternalError')) throw error;
    return fetchSnapshotPerVhost(client, fetchedAt);
  }
  const vhosts = await vhostsRequest;
  const userLimits = (definitions.users ?? []).some((user) => user.limits === undefined)
    ? await client.listUserLimits()
    : undefined;
  return buildSnapshot(client.brokerId, fetchedAt, {
    definitions,
    vhosts,
    ...(userLimits ? { userLimits } : {}),
  });
}

async function fetchSnapshotPerVhost(client: ManagementClient, fetchedAt: number): Promise<BrokerSnapshot> {
  const [vhosts, users, permissions, topicPermissions, userLimits] = await Promise.all([
    client.listVhosts(),
    client.listUsers(),
    client.listPermissions(),
    client.listTopicPermissions(),
    client.listUserLimits(),
  ]);
  const vhostDefinitions = new Map<string, Definitions>();
  const unreadableVhosts: string[] = [];
  await Promise.all(
    vhosts.map(async (vhost) => {
      try {
        vhostDefinitions.set(vhost.name, await client.vhostDefinitions(vhost.name));
      } catch (error) {
        if (!(error instanceof BrokerError && error.reason === 'BrokerInternalError')) throw error;
        unreadableVhosts.push(vhost.name);
      }
    }),
  );
  return buildSnapshot(client.brokerId, fetchedAt, {
    definitions: { users, permissions, topic_permissions: topicPermissions },
    vhosts,
    userLimits,
    vhostDefinitions,
    unreadableVhosts,
  });
}

// ---- applying our own writes ------------------------------------------------------------

function removeWhere<T>(map: Map<string, T>, predicate: (value: T) => boolean): void {
  for (const [key, value] of map) if (predicate(value)) map.delete(key);
}

function withLimit(
  limits: Record<string, number>,
  write: { op: 'put'; limit: string; value: number } | { op: 'delete'; limit: string },
): Record<string, number> {
  const entries = Object.entries(limits).filter(([name]) => name !== write.limit);
  if (write.op === 'put') entries.push([write.limit, write.value]);
  return Object.fromEntries(entries);
}

/** Records a successful write in a snapshot, mirroring what the broker does with it. */
export function applyWrite(snapshot: BrokerSnapshot, write: BrokerWrite): void {
  switch (write.kind) {
    case 'unknown':
      return;
    case 'vhost': {
      if (write.op === 'delete') {
        snapshot.vhosts.delete(write.name);
        // Deleting a vhost deletes everything in it.
        for (const kind of vhostScopedObjects) {
          removeWhere(snapshot.map(kind), (value) => value.vhost === write.name);
        }
        snapshot.removeBindingsWhere((binding) => binding.vhost === write.name);
        removeWhere(snapshot.permissions, (value) => value.vhost === write.name);
        removeWhere(snapshot.topicPermissions, (value) => value.vhost === write.name);
        removeWhere(snapshot.parameters, (value) => value.vhost === write.name);
        snapshot.unreadableVhosts.delete(write.name);
        return;
      }
      const existing = snapshot.vhosts.get(write.name);
      const { settings } = write;
      const defaultQueueType = queueType(settings.default_queue_type ?? existing?.default_queue_type);
      snapshot.vhosts.set(write.name, {
        name: write.name,
        description: settings.description ?? existing?.description ?? '',
        tags: normaliseTags(settings.tags ?? existing?.tags),
        tracing: settings.tracing ?? existing?.tracing ?? false,
        ...(defaultQueueType === undefined ? {} : { default_queue_type: defaultQueueType }),
        limits: { ...existing?.limits },
      });
      return;
    }
    case 'vhostLimit': {
      const vhost = snapshot.vhosts.get(write.vhost);
      if (vhost === undefined) return;
      snapshot.vhosts.set(write.vhost, { ...vhost, limits: withLimit(vhost.limits, write) });
      return;
    }
    case 'user': {
      if (write.op === 'delete') {
        snapshot.users.delete(write.name);
        removeWhere(snapshot.permissions, (value) => value.user === write.name);
        removeWhere(snapshot.topicPermissions, (value) => value.user === write.name);
        return;
      }
      const existing = snapshot.users.get(write.name);
      snapshot.users.set(write.name, {
        name: write.name,
        password_hash: write.settings.password_hash,
        hashing_algorithm: write.settings.hashing_algorithm,
        tags: normaliseTags(write.settings.tags),
        limits: { ...existing?.limits },
      });
      return;
    }
    case 'userLimit': {
      const user = snapshot.users.get(write.user);
      if (user === undefined) return;
      snapshot.users.set(write.user, { ...user, limits: withLimit(user.limits, write) });
      return;
    }
    case 'permission':
      if (write.op === 'put') {
        snapshot.permissions.set(snapshotKeys.permission(write.value.vhost, write.value.user), write.value);
      } else {
        snapshot.permissions.delete(snapshotKeys.permission(write.vhost, write.user));
      }
      return;
    case 'topicPermission':
      if (write.op === 'put') {
        const { vhost, user, exchange } = write.value;
        snapshot.topicPermissions.set(snapshotKeys.topicPermission(vhost, user, exchange), write.value);
      } else {
        removeWhere(
          snapshot.topicPermissions,
          (value) =>
            value.vhost === write.vhost &&
            value.user === write.user &&
            (write.exchange === undefined || value.exchange === write.exchange),
        );
      }
      return;
    case 'exchange': {
      if (write.op === 'put') {
        const key = snapshotKeys.exchange(write.value.vhost, write.value.name);
        const existing = snapshot.exchanges.get(key);
        // The broker keeps an existing exchange's arguments on redeclare; so does the snapshot.
        snapshot.exchanges.set(
          key,
          existing === undefined ? write.value : { ...write.value, arguments: existing.arguments },
        );
        return;
      }
      snapshot.exchanges.delete(snapshotKeys.exchange(write.vhost, write.name));
      snapshot.removeBindingsWhere(
        (b) =>
          b.vhost === write.vhost &&
          (b.source === write.name || (b.destination_type === 'exchange' && b.destination === write.name)),
      );
      return;
    }
    case 'queue':
      if (write.op === 'put') {
        snapshot.queues.set(snapshotKeys.queue(write.value.vhost, write.value.name), write.value);
        return;
      }
      snapshot.queues.delete(snapshotKeys.queue(write.vhost, write.name));
      snapshot.removeBindingsWhere(
        (b) => b.vhost === write.vhost && b.destination_type === 'queue' && b.destination === write.name,
      );
      return;
    case 'binding':
      if (write.op === 'put') snapshot.addBinding(write.value);
      else snapshot.removeBinding(snapshotKeys.binding(write.value));
      return;
    case 'policy':
      if (write.op === 'put')
        snapshot.policies.set(snapshotKeys.policy(write.value.vhost, write.value.name), write.value);
      else snapshot.policies.delete(snapshotKeys.policy(write.vhost, write.name));
      return;
  }
}

// ---- drift ------------------------------------------------------------------------------

export type ChangeType = 'created' | 'changed' | 'deleted';

export type SnapshotChange = {
  [K in ObjectKind]: {
    kind: K;
    key: string;
    change: ChangeType;
    before?: ObjectShapes[K];
    after?: ObjectShapes[K];
  };
}[ObjectKind];

function vhostOf(kind: ObjectKind, value: unknown): string | undefined {
  return kind === 'vhost' || kind === 'user' ? undefined : (value as { vhost: string }).vhost;
}

/**
 * What differs between two snapshots of one broker, object by object. Objects in a vhost the
 * newer snapshot could not read are left out: unknown is not deleted.
 */
export function diffSnapshots(previous: BrokerSnapshot, next: BrokerSnapshot): SnapshotChange[] {
  const changes: SnapshotChange[] = [];
  for (const kind of objectKinds) {
    const before = previous.map(kind) as Map<string, unknown>;
    const after = next.map(kind) as Map<string, unknown>;
    for (const [key, old] of before) {
      const vhost = vhostOf(kind, old);
      if (vhost !== undefined && next.unreadableVhosts.has(vhost)) continue;
      const current = after.get(key);
      if (current === undefined)
        changes.push({ kind, key, change: 'deleted', before: old } as SnapshotChange);
      else if (!isDeepStrictEqual(old, current)) {
        changes.push({ kind, key, change: 'changed', before: old, after: current } as SnapshotChange);
      }
    }
    for (const [key, current] of after) {
      if (!before.has(key)) changes.push({ kind, key, change: 'created', after: current } as SnapshotChange);
    }
  }
  return changes;
}

// ---- the cache --------------------------------------------------------------------------

export interface SnapshotRefresh {
  brokerId: string;
  snapshot: BrokerSnapshot;
  previous: BrokerSnapshot;
  changes: SnapshotChange[];
}

export interface SnapshotCacheOptions {
  /** How often each known broker is re-read to find drift; 0 turns the timer off. */
  refreshIntervalMs?: number;
  /** Called after every fetch that replaced an earlier snapshot (timer, invalidate or age). */
  onRefresh?: (refresh: SnapshotRefresh) => void;
  /** Called when a timed refresh fails (callers of get() receive their error instead). */
  onError?: (brokerId: string, error: unknown) => void;
  /**
   * For how long a failed fetch is the answer to get(), instead of a new fetch; 0 (the default) never reuses
   * one. Callers that queue for a broker then learn of its failure together rather than each waiting out a
   * fetch of its own from a broker that just failed to answer.
   */
  failureHoldMs?: number;
  /** Injectable for tests. */
  fetch?: (client: ManagementClient) => Promise<BrokerSnapshot>;
}

interface Entry {
  client: ManagementClient;
  subscriptions: Map<ManagementClient, () => void>;
  snapshot: BrokerSnapshot | undefined;
  stale: boolean;
  inflight: Promise<BrokerSnapshot> | undefined;
  /** Writes that succeeded while `inflight` ran, replayed onto its result. */
  journal: BrokerWrite[];
  timer: NodeJS.Timeout | undefined;
  /** The last fetch's error, until a fetch succeeds. */
  failure: { error: unknown; at: number } | undefined;
}

export class SnapshotCache {
  readonly #entries = new Map<string, Entry>();
  readonly #refreshIntervalMs: number;
  readonly #onRefresh: ((refresh: SnapshotRefresh) => void) | undefined;
  readonly #onError: ((brokerId: string, error: unknown) => void) | undefined;
  readonly #fetch: (client: ManagementClient) => Promise<BrokerSnapshot>;
  readonly #failureHoldMs: number;

  constructor(options: SnapshotCacheOptions = {}) {
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 60_000;
    this.#failureHoldMs = options.failureHoldMs ?? 0;
    this.#onRefresh = options.onRefresh;
    this.#onError = options.onError;
    this.#fetch = options.fetch ?? fetchSnapshot;
  }

  /**
   * The broker's snapshot, fetched when there is none, it was invalidated, or it is older than
   * `maxAgeMs` (default: the refresh interval). Concurrent callers share one fetch, and a
   * caller arriving while a fetch runs waits for it; one arriving within `failureHoldMs` of a
   * failed fetch gets its error. The client given last is the one timed refreshes use.
   */
  async get(client: ManagementClient, options: { maxAgeMs?: number } = {}): Promise<BrokerSnapshot> {
    const entry = this.#entry(client);
    const maxAgeMs = options.maxAgeMs ?? (this.#refreshIntervalMs > 0 ? this.#refreshIntervalMs : Infinity);
    const { snapshot } = entry;
    // A fetch in flight is joined: it may have been started by an invalidation.
    const fresh = snapshot !== undefined && !entry.stale && Date.now() - snapshot.fetchedAt <= maxAgeMs;
    if (fresh && entry.inflight === undefined) return snapshot;
    const { failure } = entry;
    if (
      entry.inflight === undefined &&
      failure !== undefined &&
      Date.now() - failure.at < this.#failureHoldMs
    ) {
      throw failure.error;
    }
    return this.#load(entry);
  }

  /** The cached snapshot without fetching (undefined when none yet). */
  peek(brokerId: string): BrokerSnapshot | undefined {
    return this.#entries.get(brokerId)?.snapshot;
  }

  /** The next get() refetches (for changes the write-through cannot model). */
  invalidate(brokerId: string): void {
    const entry = this.#entries.get(brokerId);
    if (entry !== undefined) entry.stale = true;
  }

  /** Fetches now (sharing a fetch in flight) and reports drift; the timer's job, callable. */
  refresh(client: ManagementClient): Promise<BrokerSnapshot> {
    return this.#load(this.#entry(client));
  }

  /** Stops refreshing a broker and drops its snapshot (no resource uses it any more). */
  forget(brokerId: string): void {
    const entry = this.#entries.get(brokerId);
    if (entry === undefined) return;
    clearInterval(entry.timer);
    for (const unsubscribe of entry.subscriptions.values()) unsubscribe();
    this.#entries.delete(brokerId);
  }

  get brokers(): string[] {
    return [...this.#entries.keys()];
  }

  close(): void {
    for (const brokerId of [...this.#entries.keys()]) this.forget(brokerId);
  }

  #entry(client: ManagementClient): Entry {
    let entry = this.#entries.get(client.brokerId);
    if (entry === undefined) {
      entry = {
        client,
        subscriptions: new Map(),
        snapshot: undefined,
        stale: false,
        inflight: undefined,
        journal: [],
        timer: undefined,
        failure: undefined,
      };
      this.#entries.set(client.brokerId, entry);
      if (this.#refreshIntervalMs > 0) {
        const target = entry;
        target.timer = setInterval(() => this.#timedRefresh(target), this.#refreshIntervalMs);
        target.timer.unref();
      }
    }
    entry.client = client;
    if (!entry.subscriptions.has(client)) {
      const target = entry;
      entry.subscriptions.set(
        client,
        client.onWrite((write) => this.#recordWrite(target, write)),
      );
      // Clients retired by the registry (rotated credentials) stop being tracked.
      for (const [other, unsubscribe] of entry.subscriptions) {
        if (other.closed) {
          unsubscribe();
          entry.subscriptions.delete(other);
        }
      }
    }
    return entry;
  }

  #recordWrite(entry: Entry, write: BrokerWrite): void {
    if (write.kind === 'unknown') {
      entry.stale = true;
      return;
    }
    if (entry.snapshot !== undefined) applyWrite(entry.snapshot, write);
    if (entry.inflight !== undefined) entry.journal.push(write);
  }

  #timedRefresh(entry: Entry): void {
    if (entry.inflight !== undefined || entry.client.closed) return;
    // A fetch for a reconcile may just have happened; don't read the broker twice in a row.
    if (
      entry.snapshot !== undefined &&
      !entry.stale &&
      Date.now() - entry.snapshot.fetchedAt < this.#refreshIntervalMs / 2
    ) {
      return;
    }
    this.#load(entry).catch((error: unknown) => this.#onError?.(entry.client.brokerId, error));
  }

  #load(entry: Entry): Promise<BrokerSnapshot> {
    if (entry.inflight !== undefined) return entry.inflight;
    entry.journal = [];
    const wasStale = entry.stale;
    entry.stale = false;
    const inflight = this.#fetch(entry.client).then(
      (next) => {
        for (const write of entry.journal) applyWrite(next, write);
        const previous = entry.snapshot;
        carryOverUnreadable(next, previous);
        entry.journal = [];
        entry.inflight = undefined;
        entry.failure = undefined;
        // A forgotten broker keeps no snapshot.
        if (this.#entries.get(entry.client.brokerId) === entry) entry.snapshot = next;
        if (previous !== undefined) this.#report(entry.client.brokerId, next, previous);
        return next;
      },
      (error: unknown) => {
        entry.stale ||= wasStale;
        entry.journal = [];
        entry.inflight = undefined;
        entry.failure = { error, at: Date.now() };
        throw error;
      },
    );
    entry.inflight = inflight;
    return inflight;
  }

  #report(brokerId: string, snapshot: BrokerSnapshot, previous: BrokerSnapshot): void {
    if (this.#onRefresh === undefined) return;
    try {
      this.#onRefresh({ brokerId, snapshot, previous, changes: diffSnapshots(previous, snapshot) });
    } catch (error) {
      this.#onError?.(brokerId, error);
    }
  }
}
