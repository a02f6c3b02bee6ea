import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiPath, bindingsPath, isDeletion, secretsOf, wireRequest } from './operations.ts';

describe('Management API paths', () => {
  it('percent-encodes the default vhost and names in path segments', () => {
    assert.equal(apiPath('queues', '/', 'orders'), '/api/queues/%2F/orders');
    assert.equal(apiPath('queues', 'team/a', 'q 1?#%'), '/api/queues/team%2Fa/q%201%3F%23%25');
  });

  it('spells the default exchange amq.default in binding paths', () => {
    assert.equal(bindingsPath('/', '', 'queue', 'q'), '/api/bindings/%2F/e/amq.default/q/q');
    assert.equal(bindingsPath('v', 'x/y', 'exchange', 'z'), '/api/bindings/v/e/x%2Fy/e/z');
  });
});

describe('Broker operations on the wire', () => {
  it('sends a queue declaration as a PUT with the settings', () => {
    assert.deepEqual(
      wireRequest({
        op: 'putQueue',
        vhost: '/',
        name: 'q',
        settings: { durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' } },
      }),
      {
        method: 'PUT',
        path: '/api/queues/%2F/q',
        body: { durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' } },
      },
    );
  });

  it('sends a queue deletion with the flags it asks for', () => {
    assert.deepEqual(
      wireRequest({ op: 'deleteQueue', vhost: 'v', name: 'q', ifEmpty: true, ifUnused: false }),
      { method: 'DELETE', path: '/api/queues/v/q?if-empty=true' },
    );
    assert.deepEqual(
      wireRequest({ op: 'deleteQueue', vhost: 'v', name: 'q', ifEmpty: false, ifUnused: false }),
      { method: 'DELETE', path: '/api/queues/v/q' },
    );
  });

  it('posts a binding, the default exchange spelt amq.default', () => {
    const binding = {
      vhost: 'v',
      source: '',
      destination: 'x/y',
      destination_type: 'exchange' as const,
      routing_key: 'k',
      arguments: { a: 1 },
    };
    assert.deepEqual(wireRequest({ op: 'createBinding', binding }), {
      method: 'POST',
      path: '/api/bindings/v/e/amq.default/e/x%2Fy',
      body: { routing_key: 'k', arguments: { a: 1 } },
    });
    // The properties key is looked up by the client and appended to this path.
    assert.deepEqual(wireRequest({ op: 'deleteBinding', binding }), {
      method: 'DELETE',
      path: '/api/bindings/v/e/amq.default/e/x%2Fy',
    });
  });

  it('sends users with a hash and tags as the broker spells them, and keeps the hash out of messages', () => {
    const op = {
      op: 'putUser' as const,
      name: 'app',
      settings: { password_hash: 'h', hashing_algorithm: 'rabbit_password_hashing_sha512', tags: ['b', 'a'] },
    };
    assert.deepEqual(wireRequest(op), {
      method: 'PUT',
      path: '/api/users/app',
      body: { password_hash: 'h', hashing_algorithm: 'rabbit_password_hashing_sha512', tags: 'a,b' },
    });
    assert.deepEqual(secretsOf(op), ['h']);
  });

  it('sends limits, permissions and policies', () => {
    assert.deepEqual(wireRequest({ op: 'putUserLimit', user: 'app', limit: 'max-channels', value: 5 }), {
      method: 'PUT',
      path: '/api/user-limits/app/max-channels',
      body: { value: 5 },
    });
    assert.deepEqual(wireRequest({ op: 'deleteVhostLimit', vhost: 'v', limit: 'max-queues' }), {
      method: 'DELETE',
      path: '/api/vhost-limits/v/max-queues',
    });
    assert.deepEqual(
      wireRequest({
        op: 'putPermission',
        vhost: 'v',
        user: 'app',
        settings: { configure: '', write: '.*', read: '.*' },
      }),
      { method: 'PUT', path: '/api/permissions/v/app', body: { configure: '', write: '.*', read: '.*' } },
    );
    assert.deepEqual(
      wireRequest({
        op: 'putPolicy',
        vhost: 'v',
        name: 'p',
        settings: { pattern: '^a', definition: { 'max-length': 1 }, priority: 0, 'apply-to': 'all' },
      }),
      {
        method: 'PUT',
        path: '/api/policies/v/p',
        body: { pattern: '^a', definition: { 'max-length': 1 }, priority: 0, 'apply-to': 'all' },
      },
    );
    assert.deepEqual(
      wireRequest({ op: 'deleteTopicPermission', vhost: 'v', user: 'app', exchange: 'amq.topic' }),
      { method: 'DELETE', path: '/api/topic-permissions/v/app/amq.topic' },
    );
  });

  it('puts a runtime parameter with its identity in the body, and deletes it by the same path', () => {
    const value = { 'src-uri': ['amqp://a'], 'src-queue': 'q' };
    assert.deepEqual(wireRequest({ op: 'putParameter', component: 'shovel', vhost: '/', name: 's', value }), {
      method: 'PUT',
      path: '/api/parameters/shovel/%2F/s',
      body: { component: 'shovel', vhost: '/', name: 's', value },
    });
    assert.deepEqual(
      wireRequest({ op: 'deleteParameter', component: 'federation-upstream', vhost: 'v', name: 'up' }),
      { method: 'DELETE', path: '/api/parameters/federation-upstream/v/up' },
    );
  });

  it('keeps every URI of a parameter, and its password raw, decoded and HTML-escaped, out of error messages', () => {
    const uri = 'amqp://app:p%40ss@upstream:5672/%2F?heartbeat=5&connection_timeout=10';
    const secrets = secretsOf({
      op: 'putParameter',
      component: 'federation-upstream',
      vhost: '/',
      name: 'up',
      value: { uri: [uri], 'max-hops': 1, exchange: 'amqp-looking-but-not-a-uri' },
    });
    assert.deepEqual(secrets, [
      uri,
      'amqp://app:p%40ss@upstream:5672/%2F?heartbeat=5&amp;connection_timeout=10',
      'app:p%40ss',
      'p%40ss',
      'p@ss',
    ]);
  });

  it('tells deletions, whose 404 means done, from other writes', () => {
    assert.equal(isDeletion({ op: 'deleteVhost', name: 'v' }), true);
    assert.equal(isDeletion({ op: 'putVhost', name: 'v', settings: {} }), false);
  });
});
