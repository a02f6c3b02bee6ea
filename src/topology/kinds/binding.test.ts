import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bindingSpecSchema } from '../../api/index.ts';
import type { Binding } from '../../rabbitmq/types.ts';
import { bindingKind } from './binding.ts';
import { fakeSecrets, noReferences, stateOf } from './testing.ts';

function want(spec: Record<string, unknown> = {}): Binding {
  const parsed = bindingSpecSchema.parse({
    source: 'events',
    destination: 'orders',
    destinationType: 'queue',
    rabbitmqClusterReference: { name: 'rmq' },
    ...spec,
  });
  const result = bindingKind.desired(parsed, noReferences);
  assert.ok(result.ok);
  return result.want;
}

describe('Binding identity', () => {
  it('gives the same broker key to two resources declaring the same tuple, whatever the argument order', () => {
    const a = want({ routingKey: 'k', arguments: { 'x-match': 'all', a: '1' } });
    const b = want({ routingKey: 'k', arguments: { a: '1', 'x-match': 'all' } });
    assert.deepEqual(bindingKind.brokerKey(a), bindingKind.brokerKey(b));
    assert.notDeepEqual(bindingKind.brokerKey(a), bindingKind.brokerKey(want({ routingKey: 'other' })));
  });

  it('finds exactly its own binding among neighbours between the same exchange and queue', () => {
    const headers = want({ arguments: { 'x-match': 'all', region: 'eu' } });
    const neighbour = { ...headers, arguments: { 'x-match': 'all', region: 'us' } };
    assert.equal(bindingKind.live(stateOf({ bindings: [neighbour] }), headers), undefined);
    const both = stateOf({
      bindings: [neighbour, { ...headers, arguments: { region: 'eu', 'x-match': 'all' } }],
    });
    assert.deepEqual(bindingKind.live(both, headers), headers);
  });

  it('declares a missing binding and deletes exactly itself', () => {
    const b = want({ routingKey: 'a.*' });
    assert.deepEqual(bindingKind.write(b, undefined, fakeSecrets), [{ op: 'createBinding', binding: b }]);
    assert.deepEqual(bindingKind.deletion(b, 'delete', { ...b, properties_key: 'a.*' }), {
      action: 'delete',
      ops: [{ op: 'deleteBinding', binding: b }],
    });
    assert.deepEqual(bindingKind.deletion(b, 'delete', undefined), { action: 'gone' });
  });

  it('waits for its source exchange and queue but not for built-in exchanges', () => {
    assert.deepEqual(bindingKind.dependencies(want()), [
      { type: 'vhost', name: '/' },
      { type: 'exchange', vhost: '/', name: 'events' },
      { type: 'queue', vhost: '/', name: 'orders' },
    ]);
    const builtIn = want({ source: 'amq.topic', destination: 'amq.fanout', destinationType: 'exchange' });
    assert.deepEqual(bindingKind.dependencies(builtIn), [{ type: 'vhost', name: '/' }]);
  });
});
