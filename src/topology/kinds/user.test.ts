import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { userSpecSchema } from '../../api/index.ts';
import type { User } from '../../rabbitmq/types.ts';
import { userKind, type UserWant } from './user.ts';
import { fakeSecrets } from './testing.ts';
import type { UserCredentials } from './types.ts';

function want(credentials: UserCredentials, spec: Record<string, unknown> = {}): UserWant {
  const parsed = userSpecSchema.parse({
    tags: ['monitoring', 'management'],
    rabbitmqClusterReference: { name: 'rmq' },
    ...spec,
  });
  const result = userKind.desired(parsed, { userName: () => undefined, credentials: () => credentials });
  assert.ok(result.ok);
  return result.want;
}

const live = (over: Partial<User> = {}): User => ({
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
    const spec = userSpecSchema.parse({
      importCredentialsSecret: { name: 'app-creds' },
      rabbitmqClusterReference: { name: 'rmq' },
    });
    const missing = userKind.desired(spec, { userName: () => undefined, credentials: () => undefined });
    assert.ok(!missing.ok);
    assert.equal(missing.reason, 'CredentialsNotFound');
    assert.match(missing.message, /app-creds/);
  });

  it('is in sync when the stored hash verifies the password', () => {
    assert.deepEqual(userKind.compare(live(), want({ username: 'app', password: 's3cret' }), fakeSecrets), {
      changes: [],
    });
  });

  it('rotates a changed password and names the field, never the value', () => {
    const w = want({ username: 'app', password: 'rotated' });
    assert.deepEqual(userKind.compare(live(), w, fakeSecrets), { changes: ['password'] });
    assert.deepEqual(userKind.write(w, live(), fakeSecrets), [
      {
        op: 'putUser',
        name: 'app',
        settings: {
          password_hash: 'hashed:rotated',
          hashing_algorithm: 'rabbit_password_hashing_sha256',
          tags: ['management', 'monitoring'],
        },
      },
    ]);
  });

  it('writes an imported password hash as it is', () => {
    const w = want({ username: 'app', passwordHash: 'imported' });
    assert.deepEqual(userKind.compare(live({ password_hash: 'imported' }), w, fakeSecrets), { changes: [] });
    const [op] = userKind.write(w, live(), fakeSecrets);
    assert.ok(op?.op === 'putUser');
    assert.equal(op.settings.password_hash, 'imported');
  });

  it('sets, changes and removes limits one write each, leaving the user alone when only limits differ', () => {
    const w = want({ username: 'app', password: 's3cret' }, { limits: { connections: 10 } });
    const current = live({ limits: { 'max-connections': 5, 'max-channels': 20 } });
    assert.deepEqual(userKind.compare(current, w, fakeSecrets).changes, [
      'limits.max-channels',
      'limits.max-connections',
    ]);
    assert.deepEqual(userKind.write(w, current, fakeSecrets), [
      { op: 'putUserLimit', user: 'app', limit: 'max-connections', value: 10 },
      { op: 'deleteUserLimit', user: 'app', limit: 'max-channels' },
    ]);
  });
});
