// Status writes of the topology reconciler: Ready with a stable reason, written only when it changed, and an
// Event and one log line for every new failure (a repeated failure adds neither).
import { findCondition, setCondition } from '../../runtime/conditions.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { Manager } from '../../runtime/manager.ts';
import { keyOf, keyString, type ResourceRef } from '../../runtime/resource.ts';
import { writeStatus } from '../../runtime/status.ts';
import type { TopologyObject } from '../kinds/types.ts';

export interface Ready {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export class StatusWriter {
  readonly #manager: Pick<Manager, 'client' | 'events'>;
  readonly #resource: ResourceRef;
  readonly #log: Logger;
  /** What the last status write of each object said, until the cache shows it (see set). */
  readonly #written = new Map<string, { summary: string; resourceVersion: string }>();

  constructor(manager: Pick<Manager, 'client' | 'events'>, resource: ResourceRef, log: Logger) {
    this.#manager = manager;
    this.#resource = resource;
    this.#log = log;
  }

  /** Writes Ready (and `extra` status fields) when they changed; resolves whether Ready itself changed. */
  async set(
    signal: AbortSignal,
    obj: TopologyObject,
    ready: Ready,
    extra: Record<string, unknown> = {},
  ): Promise<boolean> {
    const k = keyString(keyOf(obj));
    const generation = obj.metadata.generation;
    // The cache may not show our last status write yet (a reconcile woken by the finalizer's watch event
    // runs before the status event arrives): a write based on it would fail on its resourceVersion.
    const summary = JSON.stringify([obj.metadata.uid, generation, ready, extra]);
    const written = this.#written.get(k);
    if (written?.resourceVersion === obj.metadata.resourceVersion) this.#written.delete(k);
    else if (written?.summary === summary) return false;
    const previous = findCondition(obj.status?.conditions, 'Ready');
    const conditions = setCondition(obj.status?.conditions, { type: 'Ready', ...ready }, generation);
    const status = {
      ...obj.status,
      ...extra,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      conditions,
    };
    try {
      const updated = await writeStatus(this.#manager.client.withSignal(signal), this.#resource, obj, status);
      const resourceVersion = updated?.metadata.resourceVersion;
      if (resourceVersion !== undefined) this.#written.set(k, { summary, resourceVersion });
    } catch (error) {
      // A stale read (409) or a vanished object: the next reconcile writes from a fresh cache.
      if (!isGone(error)) throw error;
    }
    return (
      previous?.status !== ready.status ||
      previous.reason !== ready.reason ||
      previous.message !== ready.message
    );
  }

  /** Ready=False with an Event when this failure is new (a repeated failure adds no Event). */
  async fail(
    signal: AbortSignal,
    obj: TopologyObject,
    reason: string,
    message: string,
    extra?: Record<string, unknown>,
  ): Promise<void> {
    if (await this.set(signal, obj, { status: 'False', reason, message }, extra)) {
      this.#manager.events.warning(obj, reason, message, 'Reconcile');
      // The log carries what status and Events say, once per change, for those who read logs first.
      this.#log.warn({ namespace: obj.metadata.namespace, name: obj.metadata.name, reason }, message);
    }
  }

  forget(k: string): void {
    this.#written.delete(k);
  }
}

function isGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 404 || code === 409;
}
