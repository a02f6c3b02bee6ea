import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { userKind, type UserWant } from './user.ts';
import { fakeSecrets } from './testing.ts';
import type { UserSpec } from './specs.ts';
import type { LiveUser, UserCredentials } from './types.ts';

function want(credentials: UserCredentials, over: Partial<UserSpec> = {}): UserWant {
  const result = userKind.desired(
    { tags: ['monitoring', 'management'], rabbitmqClusterReference: { name: 'rmq' }, ...over },
    { userName: () => undefined, credentials: () => credentials },
  );
  assert.ok(result.ok);
  return result.want;
}

const live = (over: Partial<LiveUser> = {}): LiveUser => ({
  name: 'app',
  password_hash: 'hashed:s3cret',
  hashing_algorithm: 'rabbit_password_hashing_sha256',
  tags: ['management', 'monitoring'],
  limits: {},
  ...over,
});

describe('User', () => {
  it('takes its username from the credentials and waits while there are none', () => {
    assert.equal(want({ username: 'app', password: 's3cret' }).name, 'app');
    const missing = userKind.desired(
      { importCredentialsSecret: { name: 'app-creds' }, rabbitmqClusterReference: { name: 'rmq' } },
      { userName: () => undefined, credentials: () => undefined },
    );
    assert.ok(!missing.ok);
    assert.equal(missing.reason, 'CredentialsNotFound');
    assert.match(missing.message, /app-creds/);
  });

  it('is in sync when the stored hash verifies the password, whatever the tag order', () => {
    assert.deepEqual(userKind.compare(live(), want({ username: 'app', password: 's3cret' }), fakeSecrets), {
      changes: [],
    });
    assert.equal(
      userKind.compare(
        live({ tags: 'monitoring,management' }),
        want({ username: 'app', password: 's3cret' }),
        fakeSecrets,
      ).changes.length,
      0,
    );
  });

  it('rotates a changed password and names the field, never the value', () => {
    const w = want({ username: 'app', password: 'rotated' });
    const { changes } = userKind.compare(live(), w, fakeSecrets);
    assert.deepEqual(changes, ['password']);
    assert.deepEqual(userKind.write(w, live(), fakeSecrets), [
      {
        method: 'PUT',
        path: '/api/users/app',
        body: {
          password_hash: 'hashed:rotated',
          hashing_algorithm: 'rabbit_password_hashing_sha256',
          tags: 'management,monitoring',
        },
      },
    ]);
  });

  it('writes an imported password hash as it is', () => {
    const w = want({ username: 'app', passwordHash: 'imported' });
    assert.deepEqual(userKind.compare(live({ password_hash: 'imported' }), w, fakeSecrets), { changes: [] });
    const [request] = userKind.write(w, live(), fakeSecrets);
    assert.deepEqual(request?.body, {
      password_hash: 'imported',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: 'management,monitoring',
    });
  });

  it('sets, changes and removes limits one request each, leaving the user alone when only limits differ', () => {
    const w = want({ username: 'app', password: 's3cret' }, { limits: { connections: 10 } });
    const current = live({ limits: { 'max-connections': 5, 'max-channels': 20 } });
    assert.deepEqual(userKind.compare(current, w, fakeSecrets).changes, [
      'limits.max-channels',
      'limits.max-connections',
    ]);
    assert.deepEqual(userKind.write(w, current, fakeSecrets), [
      { method: 'PUT', path: '/api/user-limits/app/max-connections', body: { value: 10 } },
      { method: 'DELETE', path: '/api/user-limits/app/max-channels' },
    ]);
  });
});
