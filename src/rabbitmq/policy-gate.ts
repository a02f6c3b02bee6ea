// RabbitMQ applies a policy change to the queues that exist when the change is stored. A queue
// declared at that moment can read the policies before the change and be stored after the
// broker's scan for matching queues; it then keeps the old policy (or none) until the policy
// changes again (rabbitmq-server#4931, still open). On 3.10, 178 of 200 queue declarations sent
// together with a policy naming them kept no policy. The management client therefore never lets
// a policy write overlap a queue declaration in the same vhost: declarations share the vhost's
// gate, policy writes hold it alone. Declarations made by applications over AMQP can still race
// a policy change; only the broker can close that.
import type { BrokerOp } from './operations.ts';

export interface GateClaim {
  vhost: string;
  exclusive: boolean;
}

/** The gate an operation must hold, or undefined when it cannot race a policy change. */
export function policyGateClaim(op: BrokerOp): GateClaim | undefined {
  switch (op.op) {
    case 'putQueue':
      return { vhost: op.vhost, exclusive: false };
    case 'putPolicy':
    case 'deletePolicy':
    case 'putOperatorPolicy':
    case 'deleteOperatorPolicy':
      return { vhost: op.vhost, exclusive: true };
    default:
      return undefined;
  }
}

interface Waiter {
  exclusive: boolean;
  admit: () => void;
}

interface LockState {
  shared: number;
  exclusive: boolean;
  waiting: Waiter[];
}

/**
 * Shared/exclusive locks by key, admitted in arrival order: a waiting exclusive holder stops later
 * shared ones from overtaking it, so a stream of declarations cannot starve a policy write. A key
 * is forgotten once nobody holds or waits for it.
 */
export class KeyedSharedExclusiveLock {
  readonly #locks = new Map<string, LockState>();

  async run<T>(key: string, exclusive: boolean, action: () => Promise<T>): Promise<T> {
    await this.#acquire(key, exclusive);
    try {
      return await action();
    } finally {
      this.#release(key, exclusive);
    }
  }

  /** Keys held or awaited right now. */
  get size(): number {
    return this.#locks.size;
  }

  #acquire(key: string, exclusive: boolean): Promise<void> {
    let state = this.#locks.get(key);
    if (state === undefined) {
      state = { shared: 0, exclusive: false, waiting: [] };
      this.#locks.set(key, state);
    }
    if (state.waiting.length === 0 && admits(state, exclusive)) {
      take(state, exclusive);
      return Promise.resolve();
    }
    const queue = state.waiting;
    return new Promise((admit) => queue.push({ exclusive, admit }));
  }

  #release(key: string, exclusive: boolean): void {
    const state = this.#locks.get(key);
    if (state === undefined) return;
    if (exclusive) state.exclusive = false;
    else state.shared--;
    for (
      let next = state.waiting[0];
      next !== undefined && admits(state, next.exclusive);
      next = state.waiting[0]
    ) {
      state.waiting.shift();
      take(state, next.exclusive);
      next.admit();
    }
    if (state.shared === 0 && !state.exclusive && state.waiting.length === 0) this.#locks.delete(key);
  }
}

function admits(state: LockState, exclusive: boolean): boolean {
  return exclusive ? state.shared === 0 && !state.exclusive : !state.exclusive;
}

function take(state: LockState, exclusive: boolean): void {
  if (exclusive) state.exclusive = true;
  else state.shared++;
}
