import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exchangeKind } from './exchange.ts';
import { fakeSecrets, noReferences } from './testing.ts';

const desired = exchangeKind.desired(
  {
    name: 'events',
    vhost: 'shop',
    type: 'topic',
    durable: true,
    autoDelete: false,
    rabbitmqClusterReference: { name: 'rmq' },
  },
  noReferences,
);
assert.ok(desired.ok);
const want = desired.want;
const live = {
  name: 'events',
  vhost: 'shop',
  type: 'topic',
  durable: true,
  auto_delete: false,
  internal: false,
  arguments: {},
};

describe('Exchange', () => {
  it('declares a missing exchange durable, with its type and arguments', () => {
    assert.deepEqual(exchangeKind.write(want, undefined, fakeSecrets), [
      {
        method: 'PUT',
        path: '/api/exchanges/shop/events',
        body: { type: 'topic', durable: true, auto_delete: false, arguments: {} },
      },
    ]);
  });

  it('is in sync with an identical exchange and writes nothing to it', () => {
    assert.deepEqual(exchangeKind.compare(live, want, fakeSecrets), { changes: [] });
    assert.deepEqual(exchangeKind.write(want, live, fakeSecrets), []);
  });

  it('reports an exchange of another type as ExchangeTypeConflict', () => {
    const { conflict } = exchangeKind.compare({ ...live, type: 'fanout' }, want, fakeSecrets);
    assert.equal(conflict?.reason, 'ExchangeTypeConflict');
    assert.match(conflict.message, /exists with type fanout; the spec asks for topic/);
  });

  it('reports changed durability or arguments instead of losing them silently', () => {
    const { conflict } = exchangeKind.compare(
      { ...live, durable: false, arguments: { 'alternate-exchange': 'ae' } },
      want,
      fakeSecrets,
    );
    assert.equal(conflict?.reason, 'ExchangePropertiesImmutable');
    assert.match(conflict.message, /durable is false/);
    assert.match(conflict.message, /argument alternate-exchange is "ae", the spec asks for \(unset\)/);
  });

  it('deletes unless retained', () => {
    assert.equal(exchangeKind.deletion(want, 'retain', live).action, 'retain');
    assert.deepEqual(exchangeKind.deletion(want, 'delete', live), {
      action: 'delete',
      requests: [{ method: 'DELETE', path: '/api/exchanges/shop/events' }],
    });
  });
});
