// Test helpers for kind definitions (imported by *.test.ts only).
import type { References, SecretOps } from './types.ts';

/** Transparent "hashing": enough to tell which password a hash was made from, and visibly not real. */
export const fakeSecrets: SecretOps = {
  hashPassword: (password) => ({
    password_hash: `hashed:${password}`,
    hashing_algorithm: 'rabbit_password_hashing_sha256',
  }),
  passwordMatches: (password, hash) => hash === `hashed:${password}`,
};

export const noReferences: References = { userName: () => undefined, credentials: () => undefined };
