// The broker's informer cache: one snapshot of a broker's objects, indexed for O(1) lookups by identity and
// shared by all reconciles of that broker. How it is read (read.ts), kept current through our own writes
// (apply.ts), compared for drift (drift.ts) and cached and refreshed (cache.ts) live beside it.
import { canonicalJson } from '../normalise.ts';
import type {
  Binding,
  DestinationType,
  Exchange,
  Parameter,
  Permission,
  Policy,
  Queue,
  TopicPermission,
  User,
  Vhost,
} from '../types.ts';

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
  operatorPolicy: (vhost: string, name: string): string => JSON.stringify([vhost, name]),
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
  operatorPolicy: Policy;
  parameter: Parameter;
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
  'operatorPolicy',
  'parameter',
];

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
  /** Bindings from one source exchange (a SuperStream reads its partitions from them). */
  readonly #bindingsBySource = new Map<string, Map<string, Binding>>();
  readonly policies = new Map<string, Policy>();
  /** Operator policies (`GET /api/operator-policies`; the definitions export leaves them out). */
  readonly operatorPolicies = new Map<string, Policy>();
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
      operatorPolicy: this.operatorPolicies,
      parameter: this.parameters,
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
  operatorPolicy(vhost: string, name: string): Policy | undefined {
    return this.operatorPolicies.get(snapshotKeys.operatorPolicy(vhost, name));
  }
  parameter(component: string, vhost: string, name: string): Parameter | undefined {
    return this.parameters.get(snapshotKeys.parameter(component, vhost, name));
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
  /** Every binding whose source is this exchange. */
  bindingsFrom(vhost: string, source: string): Binding[] {
    const from = this.#bindingsBySource.get(JSON.stringify([vhost, source]));
    return from === undefined ? [] : [...from.values()];
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
    const source = JSON.stringify([binding.vhost, binding.source]);
    let from = this.#bindingsBySource.get(source);
    if (from === undefined) {
      from = new Map<string, Binding>();
      this.#bindingsBySource.set(source, from);
    }
    from.set(key, binding);
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
    const source = JSON.stringify([binding.vhost, binding.source]);
    const from = this.#bindingsBySource.get(source);
    from?.delete(key);
    if (from?.size === 0) this.#bindingsBySource.delete(source);
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

/** Objects that live in one vhost and go with it. */
export const vhostScopedObjects = ['exchange', 'queue', 'policy', 'operatorPolicy', 'parameter'] as const;
