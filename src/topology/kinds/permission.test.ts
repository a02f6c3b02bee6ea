import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { permissionSpecSchema, policySpecSchema } from '../../api/index.ts';
import { permissionKind } from './permission.ts';
import { policyKind } from './policy.ts';
import { fakeSecrets, noReferences } from './testing.ts';

describe('Permission', () => {
  const spec = permissionSpecSchema.parse({
    userReference: { name: 'app' },
    vhost: 'shop',
    permissions: { read: '.*' },
    rabbitmqClusterReference: { name: 'rmq' },
  });

  it("resolves userReference to the User's broker username and waits until it has one", () => {
    const waiting = permissionKind.desired(spec, noReferences);
    assert.ok(!waiting.ok);
    assert.equal(waiting.reason, 'DependencyNotFound');
    const refs = { ...noReferences, userName: (n: string) => (n === 'app' ? 'app-user' : undefined) };
    assert.deepEqual(permissionKind.desired(spec, refs), {
      ok: true,
      want: { vhost: 'shop', user: 'app-user', configure: '', write: '', read: '.*' },
    });
  });

  it('updates only the patterns that differ and waits for its vhost and user', () => {
    const want = { vhost: 'shop', user: 'app', configure: '', write: '', read: '.*' };
    assert.deepEqual(permissionKind.compare({ ...want, write: '.*' }, want, fakeSecrets), {
      changes: ['write'],
    });
    assert.deepEqual(permissionKind.dependencies(want), [
      { type: 'vhost', name: 'shop' },
      { type: 'user', name: 'app' },
    ]);
  });
});

describe('Policy', () => {
  it('compares definitions structurally and updates in place', () => {
    const spec = policySpecSchema.parse({
      name: 'ttl',
      pattern: '^q',
      definition: { 'message-ttl': 1000, 'max-length': 5 },
      rabbitmqClusterReference: { name: 'rmq' },
    });
    const result = policyKind.desired(spec, noReferences);
    assert.ok(result.ok);
    const live = {
      name: 'ttl',
      vhost: '/',
      pattern: '^q',
      'apply-to': 'all',
      priority: 0,
      definition: { 'max-length': 5, 'message-ttl': 1000 },
    };
    assert.deepEqual(policyKind.compare(live, result.want, fakeSecrets), { changes: [] });
    assert.deepEqual(policyKind.compare({ ...live, priority: 3, definition: {} }, result.want, fakeSecrets), {
      changes: ['priority', 'definition'],
    });
  });
});
