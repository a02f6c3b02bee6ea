// What one kind's reconciler shares between its jobs (main flow, deletion, status writes, dependency waits),
// and the runtime all kinds share. The runtime is narrowed to what the reconciler uses, so unit tests can
// give it a fake snapshot cache, client registry and connection resolver.
import type { ManagementClient } from '../../rabbitmq/management/client.ts';
import type { BrokerSnapshot } from '../../rabbitmq/snapshot/index.ts';
import type { BrokerEndpoint } from '../../rabbitmq/types.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { KeyedBackoff } from '../../runtime/backoff.ts';
import type { ObjectKey } from '../../runtime/resource.ts';
import type { BrokerSlots } from '../broker-slots.ts';
import type { ClusterReference, Connection, SecretData } from '../connections.ts';
import type { DependencyIndex } from '../dependencies.ts';
import { parseResource } from '../../api/resource.ts';
import type { References, SecretOps, TopologyKind, TopologyObject } from '../kinds/types.ts';
import type { StatusWriter } from './status.ts';
import type { DependencyWaits } from './waits.ts';

export const topologyFinalizer = 'warren.dev/topology';

export interface TopologyRuntime {
  manager: Pick<Manager, 'log' | 'client' | 'events'>;
  connections: {
    resolve(namespace: string, ref: ClusterReference, signal?: AbortSignal): Promise<Connection>;
    secret(namespace: string, name: string, signal?: AbortSignal): Promise<SecretData | undefined>;
  };
  clients: { get(endpoint: BrokerEndpoint): ManagementClient };
  snapshots: { get(client: ManagementClient): Promise<BrokerSnapshot> };
  secrets: SecretOps;
  index: DependencyIndex;
  /** References shared by kinds (a User's username for Permissions). */
  references: (namespace: string) => References;
  /** Enqueues every object that depends on `target` (see dependencies.ts), but for `except`. */
  wake: (target: string, except?: { controller: string; key: ObjectKey }) => void;
  /** Enqueues one object of one controller. */
  enqueue: (controller: string, key: ObjectKey) => void;
  /** Which objects use which broker, to free what no object uses (see broker-usage.ts). */
  brokers: { use(user: string, brokerId: string): void; forget(user: string): void };
  /** Reconciles talking to each broker at once (see broker-slots.ts). */
  slots: BrokerSlots;
  /** See `Settings.dependencyGracePeriod`. */
  dependencyGraceMs: number;
}

/** One kind's reconciler: its definition, the runtime, and the per-object memory of its jobs. */
export interface KindScope<Spec, W, L> {
  kind: TopologyKind<Spec, W, L>;
  /** The controller's name: the kind in lower case. */
  name: string;
  rt: TopologyRuntime;
  log: Logger;
  retries: KeyedBackoff;
  status: StatusWriter;
  waits: DependencyWaits;
  /** The revision (see Prepared) each object was last Ready at. */
  readyRevisions: Map<string, string | undefined>;
}

export const seconds = (n: number) => n * 1000;

export type SpecResult<Spec> = { success: true; spec: Spec } | { success: false; message: string };

/** The spec of a cached object, validated by the kind's schema (defaults applied), or why it is invalid. */
export function parseSpec<Spec>(
  kind: Pick<TopologyKind<Spec, never, never>, 'resource'>,
  obj: TopologyObject,
): SpecResult<Spec> {
  const result = parseResource(kind.resource, obj);
  return result.success
    ? { success: true, spec: result.object.spec as Spec }
    : { success: false, message: result.message };
}

/** Every topology spec names its broker the same way. */
export function clusterReference(spec: unknown): ClusterReference {
  return (spec as { rabbitmqClusterReference: ClusterReference }).rabbitmqClusterReference;
}
