import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerUsage } from './broker-usage.ts';

describe('Broker usage', () => {
  const setup = () => {
    const released: string[] = [];
    const usage = new BrokerUsage({ release: (id) => released.push(id), graceMs: 1000 });
    return { usage, released };
  };

  it('releases a broker one grace period after its last object is gone', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { usage, released } = setup();
    usage.use('queue/a', 'broker-1');
    usage.use('queue/b', 'broker-1');
    usage.forget('queue/a');
    t.mock.timers.tick(5000);
    assert.deepEqual(released, [], 'queue/b still uses it');
    usage.forget('queue/b');
    t.mock.timers.tick(999);
    assert.deepEqual(released, []);
    t.mock.timers.tick(1);
    assert.deepEqual(released, ['broker-1']);
    assert.deepEqual(usage.brokers, []);
  });

  it('keeps a broker that an object uses again within the grace period', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { usage, released } = setup();
    usage.use('queue/a', 'broker-1');
    usage.forget('queue/a');
    t.mock.timers.tick(500);
    usage.use('queue/c', 'broker-1');
    t.mock.timers.tick(5000);
    assert.deepEqual(released, []);
  });

  it('releases the broker an object moved away from', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { usage, released } = setup();
    usage.use('queue/a', 'broker-1');
    usage.use('queue/a', 'broker-2');
    t.mock.timers.tick(1000);
    assert.deepEqual(released, ['broker-1']);
    assert.deepEqual(usage.brokers, ['broker-2']);
  });

  it('forgets an object it never saw without releasing anything', () => {
    const release = mock.fn();
    new BrokerUsage({ release, graceMs: 0 }).forget('queue/unknown');
    assert.equal(release.mock.callCount(), 0);
  });
});
