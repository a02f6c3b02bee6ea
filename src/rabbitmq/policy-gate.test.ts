import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedSharedExclusiveLock, policyGateClaim } from './policy-gate.ts';

/** A promise with its resolver, to hold a lock open until the test lets go. */
function held(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Policy gate', () => {
  describe('which operations race a policy change', () => {
    const queue = { durable: true, auto_delete: false, arguments: {} };
    const policy = { pattern: '.*', definition: {}, priority: 0, 'apply-to': 'all' };

    it('has queue declarations share their vhost and policy writes hold it alone', () => {
      assert.deepEqual(policyGateClaim({ op: 'putQueue', vhost: '/', name: 'q', settings: queue }), {
        vhost: '/',
        exclusive: false,
      });
      assert.deepEqual(policyGateClaim({ op: 'putPolicy', vhost: 'v', name: 'p', settings: policy }), {
        vhost: 'v',
        exclusive: true,
      });
      assert.deepEqual(policyGateClaim({ op: 'deletePolicy', vhost: 'v', name: 'p' }), {
        vhost: 'v',
        exclusive: true,
      });
    });

    it('lets everything else through ungated', () => {
      assert.equal(
        policyGateClaim({ op: 'deleteQueue', vhost: 'v', name: 'q', ifEmpty: true, ifUnused: false }),
        undefined,
      );
      assert.equal(
        policyGateClaim({
          op: 'putExchange',
          vhost: 'v',
          name: 'x',
          settings: { type: 'topic', durable: true, auto_delete: false, arguments: {} },
        }),
        undefined,
      );
      assert.equal(policyGateClaim({ op: 'putVhost', name: 'v', settings: {} }), undefined);
      assert.equal(policyGateClaim({ op: 'deleteVhost', name: 'v' }), undefined);
    });
  });

  describe('shared and exclusive holders', () => {
    it('runs shared holders of one key together', async () => {
      const lock = new KeyedSharedExclusiveLock();
      const first = held();
      const order: string[] = [];
      const a = lock.run('k', false, async () => {
        order.push('a');
        await first.promise;
      });
      const b = lock.run('k', false, () => {
        order.push('b');
        return Promise.resolve();
      });
      await b;
      assert.deepEqual(order, ['a', 'b']);
      first.release();
      await a;
      assert.equal(lock.size, 0);
    });

    it('keeps an exclusive holder apart from shared ones, in arrival order', async () => {
      const lock = new KeyedSharedExclusiveLock();
      const declaring = held();
      const writing = held();
      const order: string[] = [];
      const declaration = lock.run('k', false, async () => {
        order.push('declare 1 starts');
        await declaring.promise;
        order.push('declare 1 ends');
      });
      const policy = lock.run('k', true, async () => {
        order.push('policy starts');
        await writing.promise;
        order.push('policy ends');
      });
      const later = lock.run('k', false, () => {
        order.push('declare 2');
        return Promise.resolve();
      });
      await settle();
      assert.deepEqual(
        order,
        ['declare 1 starts'],
        'the policy write waits, and so does the declaration behind it',
      );
      declaring.release();
      await declaration;
      await settle();
      assert.deepEqual(order, ['declare 1 starts', 'declare 1 ends', 'policy starts']);
      writing.release();
      await Promise.all([policy, later]);
      assert.deepEqual(order, [
        'declare 1 starts',
        'declare 1 ends',
        'policy starts',
        'policy ends',
        'declare 2',
      ]);
      assert.equal(lock.size, 0);
    });

    it('does not hold one key up for another', async () => {
      const lock = new KeyedSharedExclusiveLock();
      const writing = held();
      const policy = lock.run('v1', true, () => writing.promise);
      let declared = false;
      await lock.run('v2', false, () => {
        declared = true;
        return Promise.resolve();
      });
      assert.equal(declared, true);
      writing.release();
      await policy;
    });

    it('releases the key when the action fails', async () => {
      const lock = new KeyedSharedExclusiveLock();
      await assert.rejects(
        lock.run('k', true, () => Promise.reject(new Error('refused'))),
        /refused/,
      );
      assert.equal(lock.size, 0);
      assert.equal(await lock.run('k', true, () => Promise.resolve('next')), 'next');
    });
  });
});
