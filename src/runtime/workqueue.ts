// The work queue of one controller, with client-go's semantics:
// - a key added many times before a worker takes it is processed once (the dirty set);
// - a key is never handed to two workers at once (the processing set);
// - a key added while it is being processed is queued again when the worker calls done();
// - delayed adds keep the earliest due time per key; rate-limited adds use per-key backoff.
import type { RateLimiter } from './backoff.ts';

export interface WorkQueueObserver {
  add(): void;
  depth(n: number): void;
  /** Seconds a key waited between being queued and being taken. */
  queued(seconds: number): void;
  /** Seconds a worker held a key. */
  worked(seconds: number): void;
  retry(): void;
}

export interface WorkQueueOptions {
  rateLimiter: RateLimiter;
  observer?: WorkQueueObserver;
  now?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>();
  private readonly addedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private readonly rateLimiter: RateLimiter;
  private readonly observer: WorkQueueObserver | undefined;
  private readonly now: () => number;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.rateLimiter = options.rateLimiter;
    this.observer = options.observer;
    this.now = options.now ?? (() => performance.now());
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.observer?.add();
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `delayMs`; if it is already waiting, the earlier of the two due times wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const due = this.now() + delayMs;
    const existing = this.waiting.get(key);
    if (existing) {
      if (existing.due <= due) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.waiting.set(key, { due, timer });
  }

  /** Adds `key` after its backoff: the retry path after a failed reconcile. */
  addRateLimited(key: string): void {
    this.observer?.retry();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears `key`'s failure count: the next failure starts again at the base delay. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Resolves with the next key, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks `key` as processed; if it was added meanwhile, it is queued again now. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.observer?.worked((this.now() - started) / 1000);
    if (this.dirty.has(key)) this.push(key);
    if (this.processing.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Stops handing out keys: queued and delayed keys are dropped, waiting get() calls resolve undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    this.queue.length = 0;
    this.observer?.depth(0);
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }

  /** Resolves once no key is being processed. */
  drained(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Keys ready to be taken. */
  get length(): number {
    return this.queue.length;
  }

  /** Keys waiting for a delay or backoff to pass. */
  get delayed(): number {
    return this.waiting.size;
  }

  /** Seconds since each in-flight key was taken (for the unfinished-work metrics). */
  inFlightSeconds(): number[] {
    const t = this.now();
    return [...this.processing.values()].map((started) => (t - started) / 1000);
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      getter(this.take(key));
      return;
    }
    this.queue.push(key);
    this.observer?.depth(this.queue.length);
  }

  private take(key: string): string {
    this.observer?.depth(this.queue.length);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.observer?.queued((this.now() - added) / 1000);
    this.dirty.delete(key);
    this.processing.set(key, this.now());
    return key;
  }
}
