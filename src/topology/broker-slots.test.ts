import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerSlots } from './broker-slots.ts';

/** Records which holders were woken, in order. */
function wakes() {
  const woken: string[] = [];
  return { woken, wake: (holder: string) => () => woken.push(holder) };
}

describe('Broker slots', () => {
  it('give a broker no more slots than its limit, and other brokers their own', () => {
    const slots = new BrokerSlots(2);
    const { wake } = wakes();
    assert.ok(slots.tryAcquire('slow', 'a', wake('a')));
    assert.ok(slots.tryAcquire('slow', 'b', wake('b')));
    assert.equal(slots.tryAcquire('slow', 'c', wake('c')), undefined);
    assert.ok(slots.tryAcquire('healthy', 'd', wake('d')), 'a full broker takes nothing from another');
    assert.equal(slots.held('slow'), 2);
    assert.equal(slots.parked('slow'), 1);
  });

  it('reserve a freed slot for the oldest parked holder and wake it', () => {
    const slots = new BrokerSlots(1);
    const { woken, wake } = wakes();
    const release = slots.tryAcquire('b', 'first', wake('first'));
    assert.equal(slots.tryAcquire('b', 'second', wake('second')), undefined);
    assert.equal(slots.tryAcquire('b', 'third', wake('third')), undefined);
    assert.equal(slots.tryAcquire('b', 'second', wake('second')), undefined, 'a retry keeps its place');
    release?.();
    assert.deepEqual(woken, ['second']);
    assert.equal(slots.tryAcquire('b', 'newcomer', wake('newcomer')), undefined, 'the slot is reserved');
    assert.ok(slots.tryAcquire('b', 'second', wake('second')), 'the woken holder takes its slot');
    assert.equal(slots.held('b'), 1);
  });

  it('count a release once however often it is called', () => {
    const slots = new BrokerSlots(2);
    const release = slots.tryAcquire('b', 'a', () => undefined);
    slots.tryAcquire('b', 'b', () => undefined);
    release?.();
    release?.();
    assert.equal(slots.held('b'), 1);
  });

  it('pass a reservation on when the woken reconcile ends without taking it', () => {
    const slots = new BrokerSlots(1);
    const { woken, wake } = wakes();
    const release = slots.tryAcquire('b', 'holder', wake('holder'));
    slots.tryAcquire('b', 'deleted', wake('deleted'));
    slots.tryAcquire('b', 'next', wake('next'));
    release?.();
    // The woken object was deleted meanwhile: its reconcile ends at once.
    const began = slots.begin();
    slots.settle('deleted', began);
    assert.deepEqual(woken, ['deleted', 'next']);
    assert.ok(slots.tryAcquire('b', 'next', wake('next')));
  });

  it('keep a reservation made while its holder was already reconciling, for the run that follows', () => {
    const slots = new BrokerSlots(1);
    const { woken, wake } = wakes();
    const release = slots.tryAcquire('b', 'holder', wake('holder'));
    slots.tryAcquire('b', 'busy', wake('busy'));
    const began = slots.begin(); // 'busy' is being reconciled again for another reason
    release?.(); // reserved for 'busy' and enqueued: it runs once more after this run
    slots.settle('busy', began);
    assert.deepEqual(woken, ['busy']);
    assert.ok(slots.tryAcquire('b', 'busy', wake('busy')), 'the next run finds its slot');
  });

  it('free the slot of a holder that moved to another broker', () => {
    const slots = new BrokerSlots(1);
    const { woken, wake } = wakes();
    const release = slots.tryAcquire('old', 'holder', wake('holder'));
    slots.tryAcquire('old', 'moved', wake('moved'));
    slots.tryAcquire('old', 'waiting', wake('waiting'));
    release?.();
    assert.ok(slots.tryAcquire('new', 'moved', wake('moved')));
    assert.deepEqual(woken, ['moved', 'waiting']);
  });

  it('take a forgotten holder out of line and pass its reservation on', () => {
    const slots = new BrokerSlots(1);
    const { woken, wake } = wakes();
    const release = slots.tryAcquire('b', 'holder', wake('holder'));
    slots.tryAcquire('b', 'gone', wake('gone'));
    slots.tryAcquire('b', 'also-gone', wake('also-gone'));
    slots.tryAcquire('b', 'last', wake('last'));
    slots.forget('also-gone');
    release?.();
    slots.forget('gone');
    assert.deepEqual(woken, ['gone', 'last']);
    assert.equal(slots.parked('b'), 0);
    assert.equal(slots.held('b'), 1);
  });

  it('give a broker back its slots once nobody waits', () => {
    const slots = new BrokerSlots(2);
    const releases = [
      slots.tryAcquire('b', 'a', () => undefined),
      slots.tryAcquire('b', 'b', () => undefined),
    ];
    for (const release of releases) release?.();
    assert.equal(slots.held('b'), 0);
    assert.throws(() => new BrokerSlots(0), /at least one slot/);
  });
});
