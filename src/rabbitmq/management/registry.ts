// Management clients shared per broker and credentials, so all reconciles of one broker use one pool.
import type { BrokerEndpoint } from '../types.ts';
import { ManagementClient } from './client.ts';
import { endpointIdentity, type ManagementClientOptions } from './transport.ts';

/**
 * Clients shared by endpoint and credentials, so all reconciles of one broker use one pool.
 * New credentials (a rotated Secret) give a new client; a client that is not the newest of its
 * broker is closed once it has been idle for `idleMs` (several users of one broker stay apart).
 */
export class ManagementClientRegistry {
  readonly #clients = new Map<string, ManagementClient>();
  readonly #options: ManagementClientOptions;
  readonly #idleMs: number;

  constructor(options: ManagementClientOptions & { idleMs?: number } = {}) {
    const { idleMs, ...clientOptions } = options;
    this.#options = clientOptions;
    this.#idleMs = idleMs ?? 10 * 60_000;
  }

  get(endpoint: BrokerEndpoint): ManagementClient {
    const { key } = endpointIdentity(endpoint);
    const existing = this.#clients.get(key);
    if (existing !== undefined && !existing.closed) return existing;
    const client = new ManagementClient(endpoint, this.#options);
    this.#clients.delete(key);
    this.#clients.set(key, client);
    this.#retireIdle();
    return client;
  }

  #retireIdle(): void {
    const newest = new Map<string, ManagementClient>();
    for (const client of this.#clients.values()) newest.set(client.brokerId, client); // insertion order: last wins
    const cutoff = Date.now() - this.#idleMs;
    for (const [key, client] of this.#clients) {
      if (newest.get(client.brokerId) !== client && client.lastUsedAt < cutoff) {
        this.#clients.delete(key);
        void client.close().catch(() => undefined);
      }
    }
  }

  /** Closes and forgets the clients of a broker (the cluster is gone). */
  async forget(brokerId: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, client] of this.#clients) {
      if (client.brokerId === brokerId) {
        this.#clients.delete(key);
        closing.push(client.close());
      }
    }
    await Promise.all(closing);
  }

  get size(): number {
    return this.#clients.size;
  }

  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }
}
