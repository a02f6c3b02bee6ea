// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package:
// - a candidate takes the Lease when it is free (no holder) or when its holder has not renewed it for a
//   lease duration, measured on this process's clock from when the record last changed (no clock skew);
// - the leader renews every retry period; each renewal retries every retry period until the renew deadline,
//   and every attempt is cut off when the deadline passes, so a hung request cannot hold it up. Leadership is
//   lost at the renew deadline after the last successful renew was sent, before the lease duration after which
//   a standby may take over;
// - fencing: a timer cannot fire in a starved process (a leader descheduled for 18 s notices its loss only when
//   it runs again, maybe after a standby took over). So every write the operator makes first calls
//   assertValid(), which compares a monotonic clock with the renew deadline itself: a write attempted after it
//   is refused, and the refusal is the loss. What remains is a write checked in time but delivered late; the
//   lease duration's margin over the renew deadline (5 s by default) covers that, as in client-go;
// - every write carries the resourceVersion it read, so two candidates can never both win;
// - release() (on shutdown) empties the holder and shortens the lease to 1 s so a standby takes over at once;
//   a lost Lease is never released: it may be someone else's by then.
import { LeadershipLostError } from './fence.ts';
import type { WriteFence } from './fence.ts';
import { isConflict, isNotFound } from './kube-client.ts';
import type { CallOptions, KubeClient } from './kube-client.ts';
import type { Logger } from './logger.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { coreResources } from './resource.ts';
import type { KubeObject } from './resource.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  metrics?: RuntimeMetrics;
  /** Milliseconds on a monotonic clock (default performance.now()); tests pass a fake one. */
  clock?: () => number;
  onStartedLeading(): void;
  /** Called once when leadership is lost (not after release()). */
  onStoppedLeading(): void;
}

function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. Plain setTimeout: fake clocks drive it. */
function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** RFC 3339 with microseconds, the MicroTime format the API server expects. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

/** Whether a candidate may take the lease now, given the record it last saw and when it saw it change. */
export function canAcquire(
  spec: LeaseSpec | undefined,
  identity: string,
  observedAtMs: number,
  nowMs: number,
): boolean {
  const holder = spec?.holderIdentity ?? '';
  if (holder === '' || holder === identity) return true;
  const durationMs = (spec?.leaseDurationSeconds ?? 0) * 1000;
  return observedAtMs + durationMs <= nowMs;
}

export class LeaderElector implements WriteFence {
  private readonly o: LeaderElectionOptions;
  private readonly now: () => number;
  private readonly log: Logger;
  private observed: { key: string; at: number } | undefined;
  private lease: Lease | undefined;
  private leading = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  /**
   * When the last successful write of the Lease was sent, on the monotonic clock: the claim it made runs from
   * then, not from the answer.
   */
  private renewedAt = 0;
  /** Set once leadership is lost, by the renew loop or by a write past the deadline; never cleared. */
  private lostAt: number | undefined;

  constructor(options: LeaderElectionOptions) {
    if (options.renewDeadlineMs <= 1.2 * options.retryPeriodMs) {
      throw new Error('leader election: the renew deadline must be longer than 1.2 × the retry period');
    }
    // A leader gives up at most renew deadline + retry period after its last renew: a standby must wait longer.
    if (options.leaseDurationMs <= options.renewDeadlineMs + options.retryPeriodMs) {
      throw new Error(
        'leader election: the lease duration must be longer than the renew deadline plus the retry period',
      );
    }
    this.o = options;
    this.now = options.clock ?? (() => performance.now());
    this.log = options.logger.child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
  }

  /**
   * Tells a waiting candidate the Lease changed (from a watch on it), so it retries now rather than at the
   * next retry period: a released Lease is taken within a round trip.
   */
  nudge(): void {
    this.wake?.();
  }

  /**
   * Feeds a Lease seen on a watch: a standby then knows when the holder last renewed to within a round trip
   * rather than a retry period, and takes over an abandoned Lease sooner. A released Lease wakes it at once.
   */
  seen(lease: Lease): void {
    if (this.leading) return;
    this.observe(lease, this.now());
    this.lease = lease;
    if (!lease.spec?.holderIdentity) this.nudge();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Until when (monotonic clock) the Lease's last renewal lets this process write. */
  private validUntil(): number {
    return this.renewedAt + this.o.renewDeadlineMs;
  }

  /**
   * The fence every write passes: returns if this process leads and its renew deadline has not passed since the
   * last successful renew was sent; otherwise throws LeadershipLostError. Finding the deadline passed here (the
   * renew loop did not get to run: a starved process) is the loss itself: reported at once, as the renew loop
   * would, and final even if a late renew then succeeds.
   */
  assertValid(): void {
    if (this.lostAt !== undefined) {
      throw new LeadershipLostError('write refused: this process lost the leader Lease');
    }
    if (!this.leading) {
      throw new LeadershipLostError('write refused: this process does not hold the leader Lease');
    }
    const now = this.now();
    if (now < this.validUntil()) return;
    this.lose(now, 'a write found the renew deadline passed since the last successful renew');
    throw new LeadershipLostError(
      `write refused: the leader Lease was last renewed ${Math.round(now - this.renewedAt)} ms ago, ` +
        `past the renew deadline of ${this.o.renewDeadlineMs} ms`,
    );
  }

  start(): void {
    this.loop ??= this.run(this.abort.signal).catch((err: unknown) => {
      this.log.error({ err }, 'leader election stopped unexpectedly');
    });
  }

  /**
   * Stops campaigning (a renew in flight is abandoned); if still leading, hands the lease back so a standby
   * can take it at once. After a loss it writes nothing.
   */
  async release(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (!this.leading || !this.lease) return;
    // A Lease whose time is spent may be someone else's by now: it is lost, not released.
    if (this.now() >= this.validUntil()) {
      this.lose(this.now(), 'the renew deadline passed before the Lease could be released');
      return;
    }
    this.leading = false;
    this.o.metrics?.leaderStatus.set({ name: this.o.name }, 0);
    const now = microTime(new Date());
    const released: Lease = {
      ...this.lease,
      spec: {
        ...this.lease.spec,
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
      },
    };
    try {
      // Bounded like a renew: after this the standby takes over on expiry anyway.
      await this.o.client.replace(coreResources.lease, released, undefined, {
        timeoutMs: this.o.renewDeadlineMs,
      });
      this.log.info('released the leader lease');
    } catch (err) {
      this.log.warn({ err }, 'could not release the leader lease; a standby takes over once it expires');
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    this.o.metrics?.leaderStatus.set({ name: this.o.name }, 0);
    this.log.info('waiting to become leader');
    // Campaign: retry each retry period, at the holder's expiry, or when the Lease watch says it was released.
    // An attempt gets a renew deadline: a Lease won by a write that took longer would leave no time to renew.
    while (!signal.aborted) {
      const sent = this.now();
      if (await this.attempt(signal, sent + this.o.renewDeadlineMs)) {
        this.renewedAt = sent;
        break;
      }
      const woken = new Promise<void>((resolve) => (this.wake = resolve));
      await Promise.race([delay(this.campaignDelay(), signal), woken]);
      this.wake = undefined;
    }
    if (signal.aborted) return;
    this.leading = true;
    this.o.metrics?.leaderStatus.set({ name: this.o.name }, 1);
    this.log.info('became leader');
    this.o.onStartedLeading();

    // Renew every retry period; release() aborts the wait or the renewal in flight, and so does a loss found by
    // a write (lose() aborts the same signal).
    while (!signal.aborted) {
      if (!(await delay(this.o.retryPeriodMs, signal))) return;
      if (await this.renew(signal)) continue;
      // Checked afresh: renew() returns false when release() aborted it too.
      if (isAborted(signal)) return;
      this.lose(this.now(), 'it could not be renewed within the renew deadline');
      return;
    }
  }

  /** Leadership is over for good: no more writes, no more renews, no release; onStoppedLeading once. */
  private lose(now: number, why: string): void {
    if (this.lostAt !== undefined) return;
    this.lostAt = now;
    this.leading = false;
    this.abort.abort();
    this.o.metrics?.leaderStatus.set({ name: this.o.name }, 0);
    this.log.error(
      { renewDeadlineMs: this.o.renewDeadlineMs, sinceRenewMs: Math.round(now - this.renewedAt) },
      `lost the leader lease: ${why}`,
    );
    this.o.onStoppedLeading();
  }

  /**
   * One renewal: attempts on the retry period until one succeeds, or until the renew deadline has passed since
   * the last successful renew was sent, the moment the fence closes too. Counting from when that renew was sent
   * (not answered) keeps the loss ahead of the lease duration a standby counts even when renews are slow. An
   * attempt gets at most half the renew deadline, so one stuck on a dead connection leaves time for another on
   * a fresh one.
   */
  private async renew(signal: AbortSignal): Promise<boolean> {
    const deadline = this.validUntil();
    while (!signal.aborted) {
      const sent = this.now();
      if (sent >= deadline) return false;
      if (await this.attempt(signal, Math.min(deadline, sent + this.o.renewDeadlineMs / 2))) {
        // A renew answered after the fence closed (a write found the deadline passed meanwhile) changes nothing.
        if (this.lostAt !== undefined) return false;
        this.renewedAt = sent;
        return true;
      }
      // The next attempt a retry period after this one began, or at once if this one took longer.
      const pause = Math.min(sent + this.o.retryPeriodMs, deadline) - this.now();
      if (pause > 0 && !(await delay(pause, signal))) return false;
    }
    return false;
  }

  /**
   * One tryAcquireOrRenew whose requests are cut off at `deadline` or when `stop` aborts. The wait ends then
   * even if a request ignores its signal: a hung request never holds up the decision.
   */
  private async attempt(stop: AbortSignal, deadline: number): Promise<boolean> {
    // Whole milliseconds (AbortSignal.timeout wants an integer), rounded down: never past the deadline.
    const budget = Math.floor(deadline - this.now());
    if (budget <= 0 || stop.aborted) return false;
    const expiry = new AbortController();
    const timer = setTimeout(() => expiry.abort(new Error('the renew deadline passed')), budget);
    const signal = AbortSignal.any([stop, expiry.signal]);
    let onAbort: (() => void) | undefined;
    const abandoned = new Promise<false>((resolve) => {
      onAbort = () => resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.tryAcquireOrRenew({ signal, timeoutMs: budget }), abandoned]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  private async tryAcquireOrRenew(call: CallOptions): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    const leaseDurationSeconds = Math.ceil(this.o.leaseDurationMs / 1000);
    const now = new Date();
    // Fast path for the leader: update the lease it holds without reading it first.
    if (this.leading && this.lease) {
      try {
        this.lease = await client.replace(
          coreResources.lease,
          this.renewed(this.lease, now),
          undefined,
          call,
        );
        return true;
      } catch (err) {
        this.o.metrics?.leaderSlowpath.inc({ name });
        if (!isConflict(err)) {
          this.log.warn({ err }, 'could not renew the leader lease');
          return false;
        }
      }
    }
    try {
      const current = await client.get<Lease>(coreResources.lease, { namespace, name }, call);
      if (!current) {
        this.lease = await client.create<Lease>(
          coreResources.lease,
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { namespace, name },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
          call,
        );
        this.observe(this.lease, this.now());
        return true;
      }
      this.observe(current, this.now());
      if (!canAcquire(current.spec, identity, this.observed?.at ?? 0, this.now())) {
        this.lease = current;
        return false;
      }
      this.lease = await client.replace(coreResources.lease, this.renewed(current, now), undefined, call);
      this.observe(this.lease, this.now());
      return true;
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) this.log.warn({ err }, 'leader election request failed');
      return false;
    }
  }

  /**
   * The next retry: one retry period (with a little jitter; client-go uses up to 1.2×, 0.2× keeps hand-overs
   * quick), or the moment the holder's lease runs out if that comes sooner.
   */
  private campaignDelay(): number {
    const retry = this.o.retryPeriodMs * (1 + 0.2 * Math.random());
    const durationMs = (this.lease?.spec?.leaseDurationSeconds ?? 0) * 1000;
    const untilExpiry = (this.observed?.at ?? 0) + durationMs - this.now();
    return untilExpiry > 0 && untilExpiry < retry ? untilExpiry + 20 : retry;
  }

  private renewed(lease: Lease, now: Date): Lease {
    const spec = lease.spec ?? {};
    const mine = spec.holderIdentity === this.o.identity;
    return {
      ...lease,
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
  }

  /** Remembers when the record last changed, on our own clock. */
  private observe(lease: Lease, nowMs: number): void {
    const key = `${lease.spec?.holderIdentity ?? ''}|${lease.spec?.renewTime ?? ''}|${lease.metadata.resourceVersion ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: nowMs };
  }
}
