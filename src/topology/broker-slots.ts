// Reconciles in flight per broker. A topology reconcile takes one of its broker's slots for the part that talks
// to the broker. When all are taken it does not wait in its worker: with a broker that answers slowly, that would
// soon hold every worker of every kind and starve the objects of healthy brokers. It is parked instead, and the
// reconcile returns. When a slot frees, it is reserved for the broker's oldest parked reconcile, which is enqueued
// again; workers serve other brokers meanwhile.
//
// A reserved slot is taken by the next reconcile of its holder, or passed on to the next one parked when that
// reconcile ends without needing it (the object was deleted, or now names another broker), so no slot is lost.

export type Release = () => void;

interface Reservation {
  brokerId: string;
  /** When it was made (see begin): a reconcile that began before it cannot have seen it. */
  epoch: number;
}

export class BrokerSlots {
  readonly limit: number;
  /** Slots taken or reserved, by broker. */
  readonly #held = new Map<string, number>();
  /** Parked holders by broker, oldest first, with the callback that enqueues each again. */
  readonly #parked = new Map<string, Map<string, () => void>>();
  readonly #parkedOn = new Map<string, string>();
  readonly #reserved = new Map<string, Reservation>();
  #epoch = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`a broker needs at least one slot, not ${limit}`);
    this.limit = limit;
  }

  /** Call when a reconcile begins; give the result to settle() when it ends. */
  begin(): number {
    return this.#epoch;
  }

  /**
   * A slot on `brokerId` for `holder` (one object of one kind), or undefined when the broker has none free: then
   * `holder` is parked (keeping its place if it already was) and `wake` is called once a slot is reserved for it.
   */
  tryAcquire(brokerId: string, holder: string, wake: () => void): Release | undefined {
    const reservation = this.#reserved.get(holder);
    if (reservation !== undefined) {
      this.#reserved.delete(holder);
      if (reservation.brokerId === brokerId) return this.#releaser(brokerId);
      this.#free(reservation.brokerId);
    }
    const parkedOn = this.#parkedOn.get(holder);
    if (parkedOn !== undefined && parkedOn !== brokerId) this.#unpark(holder);
    const held = this.#held.get(brokerId) ?? 0;
    if (held < this.limit) {
      this.#unpark(holder);
      this.#held.set(brokerId, held + 1);
      return this.#releaser(brokerId);
    }
    let parked = this.#parked.get(brokerId);
    if (parked === undefined) {
      parked = new Map();
      this.#parked.set(brokerId, parked);
    }
    parked.set(holder, wake);
    this.#parkedOn.set(holder, brokerId);
    return undefined;
  }

  /** A reconcile of `holder` that began at `began` ended: a slot reserved before then and not taken passes on. */
  settle(holder: string, began: number): void {
    const reservation = this.#reserved.get(holder);
    if (reservation === undefined || reservation.epoch > began) return;
    this.#reserved.delete(holder);
    this.#free(reservation.brokerId);
  }

  /** The holder is gone for good (its object was deleted): it leaves the line, and its reservation passes on. */
  forget(holder: string): void {
    this.#unpark(holder);
    const reservation = this.#reserved.get(holder);
    if (reservation === undefined) return;
    this.#reserved.delete(holder);
    this.#free(reservation.brokerId);
  }

  /** Slots taken or reserved on a broker. */
  held(brokerId: string): number {
    return this.#held.get(brokerId) ?? 0;
  }

  /** Holders parked on a broker. */
  parked(brokerId: string): number {
    return this.#parked.get(brokerId)?.size ?? 0;
  }

  #releaser(brokerId: string): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#free(brokerId);
    };
  }

  /** A slot of `brokerId` frees: it goes to the oldest parked holder, or back to the broker. */
  #free(brokerId: string): void {
    const next = this.#parked.get(brokerId)?.entries().next();
    if (next !== undefined && next.done !== true) {
      const [holder, wake] = next.value;
      this.#unpark(holder);
      this.#epoch += 1;
      this.#reserved.set(holder, { brokerId, epoch: this.#epoch });
      wake();
      return;
    }
    const held = (this.#held.get(brokerId) ?? 1) - 1;
    if (held > 0) this.#held.set(brokerId, held);
    else this.#held.delete(brokerId);
  }

  #unpark(holder: string): void {
    const brokerId = this.#parkedOn.get(holder);
    if (brokerId === undefined) return;
    this.#parkedOn.delete(holder);
    const parked = this.#parked.get(brokerId);
    parked?.delete(holder);
    if (parked?.size === 0) this.#parked.delete(brokerId);
  }
}
