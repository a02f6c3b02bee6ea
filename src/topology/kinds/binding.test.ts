import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bindingKind, type BindingWant } from './binding.ts';
import { fakeSecrets, noReferences } from './testing.ts';
import type { BindingSpec } from './specs.ts';
import type { LiveBinding } from './types.ts';

function want(over: Partial<BindingSpec> = {}): BindingWant {
  const result = bindingKind.desired(
    {
      vhost: '/',
      source: 'events',
      destination: 'orders',
      destinationType: 'queue',
      rabbitmqClusterReference: { name: 'rmq' },
      ...over,
    },
    noReferences,
  );
  assert.ok(result.ok);
  return result.want;
}

const live = (over: Partial<LiveBinding>): LiveBinding => ({
  source: 'events',
  vhost: '/',
  destination: 'orders',
  destination_type: 'queue',
  routing_key: '',
  arguments: {},
  ...over,
});

describe('Binding identity', () => {
  it('gives the same broker key to two resources declaring the same tuple, whatever the argument order', () => {
    const a = want({ routingKey: 'k', arguments: { 'x-match': 'all', a: '1' } });
    const b = want({ routingKey: 'k', arguments: { a: '1', 'x-match': 'all' } });
    assert.equal(bindingKind.brokerKey(a), bindingKind.brokerKey(b));
    assert.notEqual(bindingKind.brokerKey(a), bindingKind.brokerKey(want({ routingKey: 'other' })));
  });

  it('declares a missing binding with its routing key and arguments', () => {
    assert.deepEqual(bindingKind.write(want({ routingKey: 'a.*' }), undefined, fakeSecrets), [
      {
        method: 'POST',
        path: '/api/bindings/%2F/e/events/q/orders',
        body: { routing_key: 'a.*', arguments: {} },
      },
    ]);
  });

  it('waits for its source exchange and queue but not for built-in exchanges', () => {
    assert.deepEqual(bindingKind.dependencies(want()), [
      { type: 'vhost', name: '/' },
      { type: 'exchange', vhost: '/', name: 'events' },
      { type: 'queue', vhost: '/', name: 'orders' },
    ]);
    assert.deepEqual(
      bindingKind.dependencies(
        want({ source: 'amq.topic', destination: 'amq.fanout', destinationType: 'exchange' }),
      ),
      [{ type: 'vhost', name: '/' }],
    );
  });
});

describe('Binding deletion', () => {
  it('deletes exactly the properties key of the matching binding and never a neighbour', () => {
    const headers = want({ arguments: { 'x-match': 'all', region: 'eu' } });
    const fresh = [
      live({ arguments: { 'x-match': 'all', region: 'us' }, properties_key: '~US' }),
      live({ arguments: { region: 'eu', 'x-match': 'all' }, properties_key: '~EU' }),
      live({ routing_key: 'k', properties_key: 'k' }),
    ];
    assert.deepEqual(bindingKind.deletion(headers, 'delete', fresh), {
      action: 'delete',
      requests: [{ method: 'DELETE', path: '/api/bindings/%2F/e/events/q/orders/~EU' }],
    });
  });

  it('encodes the properties key the broker escapes', () => {
    const step = bindingKind.deletion(want({ routingKey: 'a~b' }), 'delete', [
      live({ routing_key: 'a~b', properties_key: 'a%7Eb' }),
    ]);
    assert.ok(step.action === 'delete');
    assert.equal(step.requests[0]?.path, '/api/bindings/%2F/e/events/q/orders/a%257Eb');
  });

  it('is done when no binding matches any more', () => {
    assert.deepEqual(
      bindingKind.deletion(want(), 'delete', [live({ routing_key: 'other', properties_key: 'other' })]),
      {
        action: 'gone',
      },
    );
  });
});
