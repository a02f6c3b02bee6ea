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
  describe('which requests race a policy change', () => {
    it('has queue declarations share their vhost and policy writes hold it alone', () => {
      assert.deepEqual(policyGateClaim('PUT', '/api/queues/%2F/q'), { vhost: '/', exclusive: false });
      assert.deepEqual(policyGateClaim('PUT', '/api/policies/v/p'), { vhost: 'v', exclusive: true });
      assert.deepEqual(policyGateClaim('DELETE', '/api/policies/v/p'), { vhost: 'v', exclusive: true });
      assert.deepEqual(policyGateClaim('PUT', '/api/operator-policies/v/p'), { vhost: 'v', exclusive: true });
    });

    it('lets everything else through ungated', () => {
      assert.equal(policyGateClaim('DELETE', '/api/queues/v/q?if-empty=true'), undefined);
      assert.equal(policyGateClaim('GET', '/api/policies/v/p'), undefined);
      assert.equal(policyGateClaim('GET', '/api/queues/v/q'), undefined);
      assert.equal(policyGateClaim('PUT', '/api/exchanges/v/x'), undefined);
      assert.equal(policyGateClaim('PUT', '/api/vhosts/v'), undefined);
      assert.equal(policyGateClaim('DELETE', '/api/queues/v/q/contents'), undefined);
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
