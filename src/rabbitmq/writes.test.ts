import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathSegments, writeFromRequest } from './writes.ts';

describe('Writes read from management requests', () => {
  it('decodes percent-encoded segments and ignores the query', () => {
    assert.deepEqual(pathSegments('/api/queues/%2F/a%20b?if-empty=true'), ['queues', '/', 'a b']);
    assert.equal(pathSegments('/other'), undefined);
  });

  it('reads a queue PUT with the management API defaults (transient unless told otherwise)', () => {
    assert.deepEqual(
      writeFromRequest('PUT', '/api/queues/%2F/q', { arguments: { 'x-queue-type': 'quorum' } }),
      {
        kind: 'queue',
        op: 'put',
        value: {
          vhost: '/',
          name: 'q',
          durable: false,
          auto_delete: false,
          arguments: { 'x-queue-type': 'quorum' },
        },
      },
    );
  });

  it('reads a queue DELETE with flags as a deletion', () => {
    assert.deepEqual(writeFromRequest('DELETE', '/api/queues/v/q?if-empty=true', undefined), {
      kind: 'queue',
      op: 'delete',
      vhost: 'v',
      name: 'q',
    });
  });

  it('reads a binding POST, the default exchange spelt amq.default', () => {
    assert.deepEqual(
      writeFromRequest('POST', '/api/bindings/v/e/amq.default/e/x%2Fy', {
        routing_key: 'k',
        arguments: { a: 1 },
      }),
      {
        kind: 'binding',
        op: 'put',
        value: {
          vhost: 'v',
          source: '',
          destination: 'x/y',
          destination_type: 'exchange',
          routing_key: 'k',
          arguments: { a: 1 },
        },
      },
    );
  });

  it('hands a binding DELETE back by properties key for resolution', () => {
    assert.deepEqual(writeFromRequest('DELETE', '/api/bindings/v/e/x/q/q/k~4tmbCA', undefined), {
      vhost: 'v',
      source: 'x',
      destination: 'q',
      destination_type: 'queue',
      propertiesKey: 'k~4tmbCA',
    });
  });

  it('reads users, limits, permissions and policies', () => {
    assert.deepEqual(
      writeFromRequest('PUT', '/api/users/app', {
        password_hash: 'h',
        hashing_algorithm: 'rabbit_password_hashing_sha512',
        tags: 'b,a',
      }),
      {
        kind: 'user',
        op: 'put',
        name: 'app',
        settings: {
          password_hash: 'h',
          hashing_algorithm: 'rabbit_password_hashing_sha512',
          tags: ['a', 'b'],
        },
      },
    );
    assert.deepEqual(writeFromRequest('PUT', '/api/user-limits/app/max-channels', { value: 5 }), {
      kind: 'userLimit',
      op: 'put',
      user: 'app',
      limit: 'max-channels',
      value: 5,
    });
    assert.deepEqual(writeFromRequest('DELETE', '/api/vhost-limits/v/max-queues', undefined), {
      kind: 'vhostLimit',
      op: 'delete',
      vhost: 'v',
      limit: 'max-queues',
    });
    assert.deepEqual(
      writeFromRequest('PUT', '/api/permissions/v/app', { configure: '', write: '.*', read: '.*' }),
      {
        kind: 'permission',
        op: 'put',
        value: { vhost: 'v', user: 'app', configure: '', write: '.*', read: '.*' },
      },
    );
    assert.deepEqual(
      writeFromRequest('PUT', '/api/policies/v/p', { pattern: '^a', definition: { 'max-length': 1 } }),
      {
        kind: 'policy',
        op: 'put',
        value: {
          vhost: 'v',
          name: 'p',
          pattern: '^a',
          definition: { 'max-length': 1 },
          priority: 0,
          'apply-to': 'all',
        },
      },
    );
  });

  it('ignores publishing and reads, and calls other writes unknown', () => {
    assert.equal(writeFromRequest('POST', '/api/exchanges/v/x/publish', {}), undefined);
    assert.equal(writeFromRequest('GET', '/api/queues/v/q', undefined), undefined);
    assert.deepEqual(writeFromRequest('POST', '/api/definitions', {}), {
      kind: 'unknown',
      method: 'POST',
      path: '/api/definitions',
    });
  });
});
