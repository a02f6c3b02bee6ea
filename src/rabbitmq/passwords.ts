// RabbitMQ password hashes: base64(salt ‖ H(salt ‖ UTF-8 password)) with a 4-byte salt.
// The broker checks a login the same way, so a hash made here logs in like one made there.
// passwordMatches() lets a reconcile see whether the broker's stored hash already belongs to
// the desired password, so no new salt (and no write, no Event) is produced on every pass.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const hashingAlgorithms = {
  sha256: 'rabbit_password_hashing_sha256',
  sha512: 'rabbit_password_hashing_sha512',
  md5: 'rabbit_password_hashing_md5',
} as const;

export type HashingAlgorithm = (typeof hashingAlgorithms)[keyof typeof hashingAlgorithms];

/** The broker's default; MTO sends sha512, either logs in. */
export const defaultHashingAlgorithm: HashingAlgorithm = hashingAlgorithms.sha256;

const digestFor: Record<HashingAlgorithm, string> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
};

const saltLength = 4;

export function isHashingAlgorithm(value: string): value is HashingAlgorithm {
  return Object.hasOwn(digestFor, value);
}

function digest(algorithm: HashingAlgorithm, salt: Buffer, password: string): Buffer {
  return createHash(digestFor[algorithm]).update(salt).update(password, 'utf8').digest();
}

/** A new hash with a fresh random salt (or the given one, for tests and re-verification). */
export function hashPassword(
  password: string,
  algorithm: HashingAlgorithm = defaultHashingAlgorithm,
  salt: Buffer = randomBytes(saltLength),
): string {
  if (salt.length !== saltLength) throw new Error(`a RabbitMQ password salt has ${saltLength} bytes`);
  return Buffer.concat([salt, digest(algorithm, salt, password)]).toString('base64');
}

/**
 * Whether `storedHash` (as the broker returns it) is a hash of `password`. An unknown
 * algorithm, a malformed or empty hash (a passwordless user) never matches.
 */
export function passwordMatches(storedHash: string, algorithm: string, password: string): boolean {
  if (!isHashingAlgorithm(algorithm)) return false;
  const stored = Buffer.from(storedHash, 'base64');
  const expected = digest(algorithm, stored.subarray(0, saltLength), password);
  if (stored.length !== saltLength + expected.length) return false;
  return timingSafeEqual(stored.subarray(saltLength), expected);
}
