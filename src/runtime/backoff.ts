// Retry delays for the work queue, after client-go's workqueue rate limiters.

export interface RateLimiter {
  /** Delay before `key` may be processed again; counts one more failure for it. */
  when(key: string): number;
  /** Forget the failures of `key` (after a success). */
  forget(key: string): void;
  numRequeues(key: string): number;
}

/** Per item: `baseMs · 2^failures`, capped at `maxMs` (controller-runtime: 5 ms and 1000 s). */
export class ItemExponentialBackoff implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;
  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return exponentialDelay(this.baseMs, this.maxMs, n);
  }
  forget(key: string): void {
    this.failures.delete(key);
  }
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

export function exponentialDelay(baseMs: number, maxMs: number, attempt: number): number {
  // 2^n overflows to Infinity long after the cap; Math.min keeps it finite.
  return Math.min(maxMs, baseMs * 2 ** attempt);
}

/** An overall limit shared by all items: `qps` tokens a second, at most `burst` at once. */
export class TokenBucket implements RateLimiter {
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;
  constructor(qps: number, burst: number, now: () => number = () => performance.now()) {
    this.qps = qps;
    this.burst = burst;
    this.tokens = burst;
    this.now = now;
    this.last = now();
  }
  /** Reserves a token and returns how long to wait for it. */
  when(_key?: string): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
  /** Takes a token if one is there now, without reserving a future one. */
  tryTake(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  forget(_key: string): void {
    // Shared limit: nothing per item.
  }
  numRequeues(_key: string): number {
    return 0;
  }
}

/** The longest delay any of the limiters asks for (client-go's DefaultControllerRateLimiter). */
export class MaxOf implements RateLimiter {
  private readonly limiters: RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }
  when(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(key)));
  }
  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }
  numRequeues(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.numRequeues(key)));
  }
}

/** `ms` spread uniformly over `[ms, ms · (1 + factor))`, so many timers started together do not fire together. */
export function jittered(ms: number, factor: number, random: () => number = Math.random): number {
  return ms * (1 + factor * random());
}

/**
 * `base · 2^attempt` capped at `maxMs`, with equal jitter: at least half of that, the rest random, so the
 * retries of many callers that failed together spread out. The one retry curve of the operator: reconnecting
 * loops, the topology reconciler's requeues and the management client's retries all use it.
 */
export function jitteredBackoff(
  baseMs: number,
  maxMs: number,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = exponentialDelay(baseMs, maxMs, attempt);
  return ceiling / 2 + (ceiling / 2) * random();
}

/** Retry delays for reconnecting loops: `jitteredBackoff` over consecutive failures. */
export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  constructor(baseMs: number, maxMs: number) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }
  next(random: () => number = Math.random): number {
    const d = jitteredBackoff(this.baseMs, this.maxMs, this.attempt, random);
    this.attempt += 1;
    return d;
  }
  reset(): void {
    this.attempt = 0;
  }
}

/** `jitteredBackoff` per key, each key's failures counted apart; the cap is the caller's per call. */
export class KeyedBackoff {
  private readonly failures = new Map<string, number>();
  private readonly baseMs: number;
  constructor(baseMs: number) {
    this.baseMs = baseMs;
  }
  /** The delay before `key`'s next attempt, whole milliseconds; counts one more failure for it. */
  next(key: string, maxMs: number, random: () => number = Math.random): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.round(jitteredBackoff(this.baseMs, maxMs, n, random));
  }
  reset(key: string): void {
    this.failures.delete(key);
  }
}
