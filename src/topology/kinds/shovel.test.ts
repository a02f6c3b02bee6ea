import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shovelSpecSchema } from '../../api/index.ts';
import { planConverge } from '../plan.ts';
import { shovelKind } from './shovel.ts';
import { fakeSecrets, noReferences, stateOf } from './testing.ts';
import type { References } from './types.ts';

const src = 'amqp://shovel:s3cret@source:5672/%2F';
const dest = 'amqp://shovel:s3cret@dest-a:5672/%2F';
const withSecret = (data: Record<string, string> | undefined): References => ({
  ...noReferences,
  secretData: () => data,
});

describe('Shovel', () => {
  const spec = shovelSpecSchema.parse({
    name: 'move-orders',
    vhost: 'shop',
    uriSecret: { name: 'shovel-uris' },
    srcQueue: 'orders',
    srcDeleteAfter: '100',
    destQueue: 'orders-archive',
    ackMode: 'on-confirm',
    srcPrefetchCount: 50,
    reconnectDelay: 0,
    destAddForwardHeaders: true,
    destAddTimestampHeader: false,
    srcConsumerArgs: {},
    rabbitmqClusterReference: { name: 'rmq' },
  });
  const refs = withSecret({ srcUri: src, destUri: `${dest}, amqp://shovel:s3cret@dest-b:5672/%2F` });
  const value = {
    'src-uri': [src],
    'dest-uri': [dest, 'amqp://shovel:s3cret@dest-b:5672/%2F'],
    'ack-mode': 'on-confirm',
    'reconnect-delay': 0,
    'src-delete-after': 100,
    'src-prefetch-count': 50,
    'dest-add-forward-headers': true,
    'src-queue': 'orders',
    'dest-queue': 'orders-archive',
  };

  it('is a shovel parameter: the spec in the broker’s names, the URIs from the Secret, only what is set', () => {
    assert.deepEqual(shovelKind.desired(spec, refs), {
      ok: true,
      want: { vhost: 'shop', name: 'move-orders', value },
    });
  });

  it('names the Secret and the key when the Secret is missing or lacks a URI, and never a value', () => {
    const missing = shovelKind.desired(spec, withSecret(undefined));
    assert.deepEqual(missing, {
      ok: false,
      reason: 'SecretNotFound',
      message: 'Secret "shovel-uris" (spec.uriSecret) does not exist; it must hold the key srcUri.',
    });
    const noDest = shovelKind.desired(spec, withSecret({ srcUri: src, destUri: ' , ' }));
    assert.ok(!noDest.ok);
    assert.equal(noDest.reason, 'SecretInvalid');
    assert.match(noDest.message, /Secret "shovel-uris" .*lacks the key destUri/);
    assert.doesNotMatch(noDest.message, /s3cret/);
  });

  it('writes nothing for an equal value, whatever the key order, and names changed fields only', () => {
    const want = { vhost: 'shop', name: 'move-orders', value };
    const base = { vhosts: [{ name: 'shop' }] };
    const live = { component: 'shovel', vhost: 'shop', name: 'move-orders' };
    const reordered = Object.fromEntries(Object.entries(value).reverse());
    const same = stateOf({ ...base, parameters: [{ ...live, value: reordered }] });
    assert.deepEqual(planConverge(shovelKind, want, same, fakeSecrets, true), { type: 'in-sync' });

    const rotated = { ...value, 'src-uri': ['amqp://shovel:n3w@source:5672/%2F'], 'ack-mode': 'no-ack' };
    const changed = stateOf({ ...base, parameters: [{ ...live, value: rotated }] });
    const plan = planConverge(shovelKind, want, changed, fakeSecrets, false);
    assert.ok(plan.type === 'write');
    assert.deepEqual(plan.changes, ['ackMode', 'srcUri']);
    assert.deepEqual(plan.ops, [
      { op: 'putParameter', component: 'shovel', vhost: 'shop', name: 'move-orders', value },
    ]);
  });

  it('is not restored once it deleted itself after moving what srcDeleteAfter asked for', () => {
    const want = { vhost: 'shop', name: 'move-orders', value };
    const gone = stateOf({ vhosts: [{ name: 'shop' }] });
    assert.deepEqual(planConverge(shovelKind, want, gone, fakeSecrets, true), { type: 'in-sync' });
    const first = planConverge(shovelKind, want, gone, fakeSecrets, false);
    assert.equal(first.type === 'write' && first.verb, 'create');
    const forever = { vhost: 'shop', name: 'move-orders', value: { ...value, 'src-delete-after': 'never' } };
    const restored = planConverge(shovelKind, forever, gone, fakeSecrets, true);
    assert.equal(restored.type === 'write' && restored.verb, 'restore');
  });

  it('waits for its vhost before creating the shovel', () => {
    const want = { vhost: 'shop', name: 'move-orders', value };
    const plan = planConverge(shovelKind, want, stateOf({}), fakeSecrets, false);
    assert.equal(plan.type, 'waiting');
  });

  it('is deleted by name without its Secret, and kept under deletionPolicy retain', () => {
    const obj = { metadata: { name: 'move-orders', namespace: 'ns' } };
    const want = shovelKind.deletionWant?.(obj, spec);
    assert.deepEqual(want, { vhost: 'shop', name: 'move-orders', value: {} });
    assert.deepEqual(shovelKind.deletion(want, 'delete', { value }), {
      action: 'delete',
      ops: [{ op: 'deleteParameter', component: 'shovel', vhost: 'shop', name: 'move-orders' }],
    });
    assert.deepEqual(shovelKind.deletion(want, 'delete', undefined), { action: 'gone' });
    assert.deepEqual(shovelKind.deletion(want, 'retain', { value }), { action: 'retain' });
  });

  it('refuses, as the API server does, an AMQP 1.0 end without an address and a source with two kinds', () => {
    const base = { name: 's', uriSecret: { name: 'u' }, rabbitmqClusterReference: { name: 'rmq' } };
    assert.ok(!shovelSpecSchema.safeParse({ ...base, srcProtocol: 'amqp10', destQueue: 'q' }).success);
    assert.ok(!shovelSpecSchema.safeParse({ ...base, srcQueue: 'a', srcExchange: 'x' }).success);
    assert.ok(!shovelSpecSchema.safeParse({ ...base, srcQueue: 'a', destProtocol: 'amqp10' }).success);
    assert.ok(!shovelSpecSchema.safeParse({ ...base, srcQueue: 'a', srcDeleteAfter: 'soon' }).success);
    const amqp10 = shovelSpecSchema.safeParse({
      ...base,
      srcProtocol: 'amqp10',
      srcAddress: '/queues/a',
      destProtocol: 'amqp10',
      destAddress: '/queues/b',
      destApplicationProperties: { origin: 'shovel' },
    });
    assert.ok(amqp10.success);
    assert.deepEqual(shovelKind.desired(amqp10.data, withSecret({ srcUri: src, destUri: dest })), {
      ok: true,
      want: {
        vhost: '/',
        name: 's',
        value: {
          'src-uri': [src],
          'dest-uri': [dest],
          'src-protocol': 'amqp10',
          'src-address': '/queues/a',
          'dest-protocol': 'amqp10',
          'dest-address': '/queues/b',
          'dest-application-properties': { origin: 'shovel' },
        },
      },
    });
  });
});
