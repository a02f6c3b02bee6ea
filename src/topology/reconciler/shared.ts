// What the main flow and deletion both do: reach the broker through one of its slots, report broker
// failures, record what an object depends on, and forget an object that is gone.
import type { ManagementClient } from '../../rabbitmq/management/client.ts';
import { isBrokerError } from '../../rabbitmq/errors.ts';
import { jittered } from '../../runtime/backoff.ts';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.ts';
import { isDeleting } from '../../runtime/finalizers.ts';
import { keyString, type ObjectKey } from '../../runtime/resource.ts';
import type { Release } from '../broker-slots.ts';
import type { Connection, ResolvedConnection } from '../connections.ts';
import { targets } from '../dependencies.ts';
import type { BrokerKey, TopologyObject } from '../kinds/types.ts';
import { seconds, type KindScope } from './context.ts';

type Scope = KindScope<unknown, unknown, unknown>;

/** Who holds a broker slot: one object of this kind. */
const holder = (scope: Scope, k: string) => `${scope.name}\0${k}`;

/** The broker's client; the object is counted among the broker's users until it is forgotten. */
export function clientFor(scope: Scope, connection: ResolvedConnection, k: string): ManagementClient {
  const client = scope.rt.clients.get(connection.endpoint);
  scope.rt.brokers.use(holder(scope, k), client.brokerId);
  return client;
}

/** One of the broker's slots for the part of a reconcile that talks to it; undefined when parked. */
export function brokerSlot(scope: Scope, c: ManagementClient, key: ObjectKey): Release | undefined {
  const { rt, name } = scope;
  return rt.slots.tryAcquire(c.brokerId, holder(scope, keyString(key)), () => rt.enqueue(name, key));
}

/**
 * A reconcile whose broker has no slot free returns at once, holding no worker, and silently: its status is
 * not news. A freed slot wakes it; the late requeue only matters if that wake were somehow lost.
 */
export function parked(ctx: ReconcileContext, c: ManagementClient): ReconcileResult {
  ctx.log.debug({ broker: c.brokerId }, 'waiting for a free slot on the broker');
  return { requeueAfterMs: jittered(seconds(30), 0.2) };
}

/** Settles the broker slot bookkeeping of one reconcile (see broker-slots.ts). */
export function settleSlot(scope: Scope, k: string, began: number): void {
  scope.rt.slots.settle(holder(scope, k), began);
}

/**
 * Ready=False with the broker's reason. Counted as a reconcile error; transient failures (broker down,
 * timeouts) are polled quickly so that recovery is noticed within seconds, anything else backs off further.
 */
export async function brokerFailure(
  scope: Scope,
  signal: AbortSignal,
  obj: TopologyObject,
  k: string,
  error: unknown,
): Promise<ReconcileResult> {
  if (!isBrokerError(error)) throw error;
  const reason = error.reason === 'PreconditionFailed' ? 'BrokerRejected' : error.reason;
  await scope.status.fail(signal, obj, reason, error.message);
  const capMs = error.transient || error.reason === 'BrokerUnreachable' ? seconds(8) : seconds(120);
  return { requeueAfterMs: scope.retries.next(k, capMs), failed: error };
}

export function recordDependencies(
  scope: Scope,
  key: ObjectKey,
  connection: Connection,
  extra: readonly string[],
): void {
  const list = [...extra];
  if (connection.ok) {
    list.push(targets.secret(connection.secret));
    if (connection.cluster) list.push(targets.cluster(connection.cluster));
  }
  scope.rt.index.set(scope.name, key, list);
}

/** Another live object of this kind declaring the same broker object on the same broker. */
export function otherClaimant(
  scope: Scope,
  self: TopologyObject,
  brokerId: string,
  key: BrokerKey,
  cache: ReconcileContext['cache'],
): TopologyObject | undefined {
  for (const dependent of scope.rt.index.dependents(targets.broker(brokerId, key))) {
    if (dependent.controller !== scope.name) continue;
    if (dependent.key.namespace === self.metadata.namespace && dependent.key.name === self.metadata.name)
      continue;
    const other: TopologyObject | undefined = cache.get(dependent.key);
    if (other && !isDeleting(other)) return other;
  }
  return undefined;
}

/** Forgets everything kept in memory about an object. */
export function forget(scope: Scope, key: ObjectKey, k: string): void {
  scope.rt.slots.forget(holder(scope, k));
  scope.rt.brokers.forget(holder(scope, k));
  scope.rt.index.forget(scope.name, key);
  scope.retries.reset(k);
  scope.readyRevisions.delete(k);
  scope.waits.forget(k);
  scope.status.forget(k);
}
