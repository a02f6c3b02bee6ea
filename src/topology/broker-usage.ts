// Which objects use which broker, so that the snapshot (a refresh timer and a copy of the broker's topology) and
// the client pool of a broker no object uses any more are freed. A broker left by its last object is released
// after a grace period, so an object that moves, or a Secret that is fixed a moment later, does not make the
// snapshot be read again from scratch.

export class BrokerUsage {
  readonly #brokerOf = new Map<string, string>();
  readonly #users = new Map<string, Set<string>>();
  readonly #pending = new Map<string, NodeJS.Timeout>();
  readonly #release: (brokerId: string) => void;
  readonly #graceMs: number;

  constructor(options: { release: (brokerId: string) => void; graceMs: number }) {
    this.#release = options.release;
    this.#graceMs = options.graceMs;
  }

  /** `user` (an object, by controller and key) talks to `brokerId` now, and to no other broker. */
  use(user: string, brokerId: string): void {
    const previous = this.#brokerOf.get(user);
    if (previous === brokerId) return;
    if (previous !== undefined) this.#leave(user, previous);
    this.#brokerOf.set(user, brokerId);
    let users = this.#users.get(brokerId);
    if (users === undefined) this.#users.set(brokerId, (users = new Set()));
    users.add(user);
    clearTimeout(this.#pending.get(brokerId));
    this.#pending.delete(brokerId);
  }

  /** `user` is gone, or uses no broker any more. */
  forget(user: string): void {
    const previous = this.#brokerOf.get(user);
    if (previous === undefined) return;
    this.#brokerOf.delete(user);
    this.#leave(user, previous);
  }

  /** Brokers some object uses. */
  get brokers(): string[] {
    return [...this.#users.keys()];
  }

  close(): void {
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }

  #leave(user: string, brokerId: string): void {
    const users = this.#users.get(brokerId);
    users?.delete(user);
    if (users === undefined || users.size > 0) return;
    this.#users.delete(brokerId);
    const timer = setTimeout(() => {
      this.#pending.delete(brokerId);
      if (!this.#users.has(brokerId)) this.#release(brokerId);
    }, this.#graceMs);
    timer.unref();
    this.#pending.set(brokerId, timer);
  }
}
