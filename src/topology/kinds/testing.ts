// Test helpers for kind definitions (imported by *.test.ts only).
import { buildSnapshot } from '../../rabbitmq/snapshot/index.ts';
import type { Definitions, ListedVhost } from '../../rabbitmq/types.ts';
import type { BrokerState, References, SecretOps } from './types.ts';

/** Transparent "hashing": enough to tell which password a hash was made from, and visibly not real. */
export const fakeSecrets: SecretOps = {
  hashPassword: (password) => ({
    password_hash: `hashed:${password}`,
    hashing_algorithm: 'rabbit_password_hashing_sha256',
  }),
  passwordMatches: (password, hash) => hash === `hashed:${password}`,
};

export const noReferences: References = { userName: () => undefined, credentials: () => undefined };

/** A broker state as the snapshot would hold it after reading these definitions. */
export function stateOf(definitions: Definitions, vhosts: ListedVhost[] = []): BrokerState {
  return buildSnapshot('test', Date.now(), { definitions, vhosts });
}
