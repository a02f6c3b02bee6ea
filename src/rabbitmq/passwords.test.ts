import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, hashingAlgorithms, passwordMatches } from './passwords.ts';

// Hashes made by RabbitMQ 3.10 itself (`PUT /api/users/…` with a plain password, read back).
const brokerMade = {
  password: 'adminpw',
  hash: 'IQyC95hDJab9nOutb6in1ZXJGttkWj8P9BO3CQoyIEcJFThw',
  algorithm: 'rabbit_password_hashing_sha256',
};

describe('RabbitMQ password hashes', () => {
  it('recognises a hash the broker made for the password', () => {
    assert.equal(passwordMatches(brokerMade.hash, brokerMade.algorithm, brokerMade.password), true);
  });

  it('rejects the broker hash for another password', () => {
    assert.equal(passwordMatches(brokerMade.hash, brokerMade.algorithm, 'adminpw2'), false);
  });

  it('lays a hash out as base64 of a 4-byte salt and the digest of salt and password', () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    const bytes = Buffer.from(hashPassword('secret', hashingAlgorithms.sha256, salt), 'base64');
    assert.equal(bytes.length, 4 + 32);
    assert.deepEqual(bytes.subarray(0, 4), salt);
    assert.equal(
      Buffer.from(hashPassword('secret', hashingAlgorithms.sha512, salt), 'base64').length,
      4 + 64,
    );
    assert.equal(Buffer.from(hashPassword('secret', hashingAlgorithms.md5, salt), 'base64').length, 4 + 16);
  });

  for (const algorithm of Object.values(hashingAlgorithms)) {
    it(`verifies its own ${algorithm} hashes without re-hashing`, () => {
      const hash = hashPassword('pässword ✓', algorithm);
      assert.equal(passwordMatches(hash, algorithm, 'pässword ✓'), true);
      assert.equal(passwordMatches(hash, algorithm, 'password'), false);
    });
  }

  it('uses a fresh salt for every new hash', () => {
    assert.notEqual(hashPassword('same'), hashPassword('same'));
  });

  it('never matches an empty hash (a passwordless user), a malformed hash or an unknown algorithm', () => {
    assert.equal(passwordMatches('', hashingAlgorithms.sha256, ''), false);
    assert.equal(passwordMatches('bm90IGEgaGFzaA==', hashingAlgorithms.sha256, 'x'), false);
    assert.equal(passwordMatches(hashPassword('x'), 'rabbit_password_hashing_foo', 'x'), false);
    assert.equal(
      passwordMatches(hashPassword('x', hashingAlgorithms.sha256), hashingAlgorithms.sha512, 'x'),
      false,
    );
  });
});
