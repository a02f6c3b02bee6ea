import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exchangeSpecSchema } from '../../api/index.ts';
import { exchangeKind } from './exchange.ts';
import { fakeSecrets, noReferences } from './testing.ts';

const desired = exchangeKind.desired(
  exchangeSpecSchema.parse({
    name: 'events',
    vhost: 'shop',
    type: 'topic',
    rabbitmqClusterReference: { name: 'rmq' },
  }),
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
  it('declares a missing exchange durable by default, with its type and arguments', () => {
    assert.deepEqual(exchangeKind.write(want, undefined, fakeSecrets), [
      {
        op: 'putExchange',
        vhost: 'shop',
        name: 'events',
        settings: { type: 'topic', durable: true, auto_delete: false, arguments: {} },
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
    const changed = { ...live, durable: false, arguments: { 'alternate-exchange': 'ae' } };
    const { conflict } = exchangeKind.compare(changed, want, fakeSecrets);
    assert.equal(conflict?.reason, 'ExchangePropertiesImmutable');
    assert.match(conflict.message, /durable is false/);
    assert.match(conflict.message, /argument alternate-exchange is "ae", the spec asks for \(unset\)/);
  });

  it('deletes unless retained', () => {
    assert.equal(exchangeKind.deletion(want, 'retain', live).action, 'retain');
    assert.deepEqual(exchangeKind.deletion(want, 'delete', live), {
      action: 'delete',
      ops: [{ op: 'deleteExchange', vhost: 'shop', name: 'events' }],
    });
    assert.deepEqual(exchangeKind.deletion(want, 'delete', undefined), { action: 'gone' });
  });
});
