// One snapshot per broker, shared by all reconciles of that broker.
//
// Freshness: writes made through a ManagementClient are applied to the cached snapshot as they succeed
// (apply.ts). Writes that land while a fetch is in flight are journalled and replayed onto its result,
// because the broker may have answered the fetch before the write. A periodic refresh (and any refetch)
// compares the new snapshot with the previous one and reports what changed behind our back (drift.ts).
import type { ManagementClient, UnmodelledWrite } from '../management/client.ts';
import type { BrokerOp } from '../operations.ts';
import { applyOp } from './apply.ts';
import { diffSnapshots, type SnapshotChange } from './drift.ts';
import { carryOverUnreadable, fetchSnapshot } from './read.ts';
import type { BrokerSnapshot } from './snapshot.ts';

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
  journal: BrokerOp[];
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

  #recordWrite(entry: Entry, write: BrokerOp | UnmodelledWrite): void {
    if (write.op === 'unmodelled') {
      entry.stale = true;
      return;
    }
    if (entry.snapshot !== undefined) applyOp(entry.snapshot, write);
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
        for (const op of entry.journal) applyOp(next, op);
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
