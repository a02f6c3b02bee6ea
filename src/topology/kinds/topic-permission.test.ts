import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topicPermissionSpecSchema } from '../../api/index.ts';
import { planConverge } from '../plan.ts';
import { fakeSecrets, noReferences, stateOf } from './testing.ts';
import { topicPermissionKind } from './topic-permission.ts';

describe('TopicPermission', () => {
  const spec = topicPermissionSpecSchema.parse({
    user: 'app',
    vhost: 'shop',
    permissions: { exchange: 'events', write: '^orders\\.' },
    rabbitmqClusterReference: { name: 'rmq' },
  });
  const want = { vhost: 'shop', user: 'app', exchange: 'events', write: '^orders\\.', read: '' };

  it('is one user, vhost and exchange with write and read patterns (read matches nothing by default)', () => {
    assert.deepEqual(topicPermissionKind.desired(spec, noReferences), { ok: true, want });
  });

  it('waits for a referenced User that has no username yet', () => {
    const byReference = topicPermissionSpecSchema.parse({
      ...spec,
      user: undefined,
      userReference: { name: 'a' },
    });
    const waiting = topicPermissionKind.desired(byReference, noReferences);
    assert.ok(!waiting.ok);
    assert.equal(waiting.reason, 'DependencyNotFound');
  });

  it('creates a missing topic permission, updates the patterns that differ, and leaves an equal one alone', () => {
    const base = {
      vhosts: [{ name: 'shop' }],
      users: [{ name: 'app', password_hash: '', hashing_algorithm: '', tags: '' }],
    };
    const missing = planConverge(topicPermissionKind, want, stateOf(base), fakeSecrets, false);
    assert.deepEqual(missing, {
      type: 'write',
      verb: 'create',
      changes: ['missing'],
      ops: [
        {
          op: 'putTopicPermission',
          vhost: 'shop',
          user: 'app',
          settings: { exchange: 'events', write: '^orders\\.', read: '' },
        },
      ],
    });
    const live = { vhost: 'shop', user: 'app', exchange: 'events', write: '.*', read: '' };
    const changed = stateOf({ ...base, topic_permissions: [live] });
    const update = planConverge(topicPermissionKind, want, changed, fakeSecrets, false);
    assert.ok(update.type === 'write');
    assert.deepEqual(update.changes, ['write']);
    const same = stateOf({ ...base, topic_permissions: [{ ...live, write: '^orders\\.' }] });
    assert.deepEqual(planConverge(topicPermissionKind, want, same, fakeSecrets, true), { type: 'in-sync' });
  });

  it("deletes only its own exchange's patterns", () => {
    assert.deepEqual(topicPermissionKind.deletion(want, 'delete', { ...want }), {
      action: 'delete',
      ops: [{ op: 'deleteTopicPermission', vhost: 'shop', user: 'app', exchange: 'events' }],
    });
    assert.deepEqual(topicPermissionKind.deletion(want, 'delete', undefined), { action: 'gone' });
  });
});
