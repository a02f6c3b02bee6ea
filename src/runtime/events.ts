// Kubernetes Events (events.k8s.io/v1) about the objects Warren manages, with the protections client-go's
// recorder has: the same event repeated within a window becomes one Event whose series count grows, each
// object has a token bucket (burst 25, one more every 5 minutes) so a hot loop cannot flood the API server,
// and the memory of recent events is bounded (LRU of 4096). Emitting never throws and never blocks: Events are
// sent in the background, a bounded number at a time, so that in a burst (thousands of objects applied at once) they
// trail the writes that matter (finalizers and status) instead of competing with them for the API server; a
// backlog beyond `maxPending` is dropped and counted, as client-go's broadcaster drops a full queue.
// Notes are passed through redactText() and cut to the API's 1 kB limit.
import { randomBytes } from 'node:crypto';
import { TokenBucket } from './backoff.ts';
import { isNamespaceTerminating } from './kube-client.ts';
import type { KubeClient } from './kube-client.ts';
import type { Logger } from './logger.ts';
import { redactText } from './logger.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { coreResources } from './resource.ts';
import type { KubeObject } from './resource.ts';
import { microTime } from './leader-election.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventInput {
  type: EventType;
  /** CamelCase, stable (`Created`, `BrokerUnreachable`). */
  reason: string;
  /** A sentence for people. Never put a credential here. */
  message: string;
  /** What Warren did or failed to do (`Reconcile`, `Delete`); defaults to the reason. */
  action?: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  logger: Logger;
  metrics?: RuntimeMetrics;
  /** reportingController, e.g. `warren.dev/operator`. */
  controller: string;
  /** reportingInstance: this process (pod name). */
  instance: string;
  windowMs?: number;
  burst?: number;
  refillEveryMs?: number;
  maxKeys?: number;
  /** Event writes in flight at once. */
  concurrency?: number;
  /** Event writes waiting to be sent; more are dropped. */
  maxPending?: number;
  now?: () => number;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
  firstSeen: number;
  created: Promise<boolean>;
}

const NOTE_LIMIT = 1024;
const TERMINATING_MEMORY_MS = 60_000;

export class EventRecorder {
  private readonly o: Required<Omit<EventRecorderOptions, 'metrics'>> & { metrics?: RuntimeMetrics };
  private readonly seen = new Map<string, Seen>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly pending: (() => Promise<void>)[] = [];
  private sending = 0;
  private readonly idle: (() => void)[] = [];
  /** Namespaces the API server said are being deleted, with when it said so: their Events are dropped. */
  private readonly terminating = new Map<string, number>();

  constructor(options: EventRecorderOptions) {
    this.o = {
      windowMs: 600_000,
      burst: 25,
      refillEveryMs: 300_000,
      maxKeys: 4096,
      concurrency: 16,
      maxPending: 10_000,
      now: () => Date.now(),
      ...options,
    };
  }

  normal(obj: KubeObject, reason: string, message: string, action?: string): void {
    this.emit(obj, { type: 'Normal', reason, message, action });
  }

  warning(obj: KubeObject, reason: string, message: string, action?: string): void {
    this.emit(obj, { type: 'Warning', reason, message, action });
  }

  emit(obj: KubeObject, input: EventInput): void {
    const note = truncate(redactText(input.message), NOTE_LIMIT);
    const uid = obj.metadata.uid ?? `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
    const now = this.o.now();
    if (!this.bucketFor(uid).tryTake()) {
      this.o.metrics?.events.inc({ type: input.type, result: 'suppressed' });
      return;
    }
    const key = `${uid}\u0000${input.type}\u0000${input.reason}\u0000${note}`;
    const previous = this.seen.get(key);
    if (previous && now - previous.firstSeen < this.o.windowMs) {
      previous.count += 1;
      this.touch(key, previous);
      void this.updateSeries(previous, input.type, now);
      return;
    }
    const namespace = obj.metadata.namespace || 'default';
    const name = `${obj.metadata.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
    const entry: Seen = { namespace, name, count: 1, firstSeen: now, created: Promise.resolve(false) };
    const event = this.body(obj, input, note, namespace, name, now);
    entry.created = this.send(input.type, () => this.create(event), false);
    this.touch(key, entry);
  }

  /** Runs `write` when a send slot is free; resolves with `dropped` if the backlog is full. */
  private send<T>(type: EventType, write: () => Promise<T>, dropped: T): Promise<T> {
    if (this.pending.length >= this.o.maxPending) {
      this.o.metrics?.events.inc({ type, result: 'dropped' });
      return Promise.resolve(dropped);
    }
    return new Promise<T>((resolve) => {
      // `write` handles its own errors; a throw still settles the caller.
      this.pending.push(() => write().then(resolve, () => resolve(dropped)));
      this.drain();
    });
  }

  private drain(): void {
    while (this.sending < this.o.concurrency) {
      const next = this.pending.shift();
      if (!next) {
        if (this.sending === 0) for (const resolve of this.idle.splice(0)) resolve();
        return;
      }
      this.sending += 1;
      void next().finally(() => {
        this.sending -= 1;
        this.drain();
      });
    }
  }

  /**
   * Resolves once every Event emitted so far has been sent, or after `timeoutMs`, with the number still
   * unsent. On shutdown this keeps the Events of the last reconciles from being lost with the process.
   */
  async flush(timeoutMs: number): Promise<number> {
    if (this.pending.length > 0 || this.sending > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idle.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    return this.pending.length + this.sending;
  }

  /** The Event as the API takes it; built at once so that a waiting Event holds no reference to `obj`. */
  private body(
    obj: KubeObject,
    input: EventInput,
    note: string,
    namespace: string,
    name: string,
    now: number,
  ) {
    return {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: microTime(new Date(now)),
      reportingController: this.o.controller,
      reportingInstance: this.o.instance,
      action: input.action ?? input.reason,
      reason: input.reason,
      note,
      type: input.type,
      regarding: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
    };
  }

  private async create(event: ReturnType<EventRecorder['body']>): Promise<boolean> {
    const namespace = event.metadata.namespace;
    if (this.isTerminating(namespace)) {
      this.o.metrics?.events.inc({ type: event.type, result: 'dropped' });
      return false;
    }
    try {
      await this.o.client.create(coreResources.event, event);
      this.o.metrics?.events.inc({ type: event.type, result: 'emitted' });
      return true;
    } catch (err) {
      if (isNamespaceTerminating(err)) {
        // Events queued for the objects of a namespace being deleted can never be stored: drop the rest of them
        // instead of sending each to be refused.
        this.terminating.set(namespace, this.o.now());
        this.o.metrics?.events.inc({ type: event.type, result: 'dropped' });
        return false;
      }
      this.o.metrics?.events.inc({ type: event.type, result: 'failed' });
      this.o.logger.debug({ err, reason: event.reason }, 'could not record an event');
      return false;
    }
  }

  private async updateSeries(entry: Seen, type: EventType, now: number): Promise<void> {
    const count = entry.count;
    if (!(await entry.created)) return;
    await this.send(
      type,
      async () => {
        try {
          await this.o.client.mergePatch(
            coreResources.event,
            { namespace: entry.namespace, name: entry.name },
            { series: { count, lastObservedTime: microTime(new Date(now)) } },
          );
          this.o.metrics?.events.inc({ type, result: 'aggregated' });
        } catch (err) {
          this.o.metrics?.events.inc({ type, result: 'failed' });
          this.o.logger.debug({ err }, 'could not update an event series');
        }
      },
      undefined,
    );
  }

  /** A namespace is taken as going away for one window; one recreated under the same name gets Events after it. */
  private isTerminating(namespace: string): boolean {
    const since = this.terminating.get(namespace);
    if (since === undefined) return false;
    if (this.o.now() - since < TERMINATING_MEMORY_MS) return true;
    this.terminating.delete(namespace);
    return false;
  }

  private bucketFor(uid: string): TokenBucket {
    let bucket = this.buckets.get(uid);
    if (!bucket) {
      bucket = new TokenBucket(1000 / this.o.refillEveryMs, this.o.burst, () => this.o.now());
      this.buckets.set(uid, bucket);
      if (this.buckets.size > this.o.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    }
    return bucket;
  }

  private touch(key: string, entry: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, entry);
    if (this.seen.size > this.o.maxKeys) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}

function truncate(text: string, limit: number): string {
  if (Buffer.byteLength(text) <= limit) return text;
  let cut = text.slice(0, limit - 1);
  while (Buffer.byteLength(cut) > limit - 1) cut = cut.slice(0, -1);
  return `${cut}…`;
}
