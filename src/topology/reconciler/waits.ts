// Waiting for a dependency (the vhost of a queue, the User of a Permission). A short wait is silent (no status
// write, no Event): in a bulk apply the dependency is usually another object Warren is about to create, and it
// wakes the waiting object when it is. A wait beyond the grace period, or one already reported, goes into the
// status; reporting every short one would double the API server writes of the apply.
import type { ReconcileResult } from '../../runtime/controller.ts';
import { findCondition } from '../../runtime/conditions.ts';
import type { KeyedBackoff } from '../../runtime/backoff.ts';
import type { TopologyObject } from '../kinds/types.ts';
import { waitIsReported } from '../plan.ts';
import type { StatusWriter } from './status.ts';

const retryCapMs = 15_000;

export class DependencyWaits {
  readonly #graceMs: number;
  readonly #retries: KeyedBackoff;
  readonly #status: StatusWriter;
  /** When each object began waiting, while its wait is not reported yet. */
  readonly #since = new Map<string, number>();

  constructor(graceMs: number, retries: KeyedBackoff, status: StatusWriter) {
    this.#graceMs = graceMs;
    this.#retries = retries;
    this.#status = status;
  }

  async wait(
    signal: AbortSignal,
    obj: TopologyObject,
    k: string,
    reason: string,
    message: string,
    extra?: Record<string, unknown>,
    now = Date.now(),
  ): Promise<ReconcileResult> {
    const since = this.#since.get(k) ?? now;
    const reported = findCondition(obj.status?.conditions, 'Ready')?.reason === reason;
    if (!reported && !waitIsReported(since, now, this.#graceMs)) {
      this.#since.set(k, since);
      const retry = this.#retries.next(k, retryCapMs);
      return { requeueAfterMs: Math.min(retry, since + this.#graceMs - now) };
    }
    this.#since.delete(k);
    await this.#status.fail(signal, obj, reason, message, extra);
    return { requeueAfterMs: this.#retries.next(k, retryCapMs) };
  }

  /** The object waits no more (it converged, or is gone). */
  forget(k: string): void {
    this.#since.delete(k);
  }
}
