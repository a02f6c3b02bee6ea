import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONDITION_MESSAGE_LIMIT,
  findCondition,
  isConditionTrue,
  removeCondition,
  setCondition,
} from './conditions.ts';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T01:00:00Z');

describe('Status conditions', () => {
  it('are added with a transition time and the observed generation', () => {
    const list = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'Pending', message: 'Waiting.' },
      3,
      t0,
    );
    assert.deepEqual(list, [
      {
        type: 'Ready',
        status: 'False',
        reason: 'Pending',
        message: 'Waiting.',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        observedGeneration: 3,
      },
    ]);
  });

  it('keep lastTransitionTime when only the reason, message or generation changes', () => {
    const a = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'Pending', message: 'Waiting.' },
      1,
      t0,
    );
    const b = setCondition(
      a,
      { type: 'Ready', status: 'False', reason: 'BrokerDown', message: 'Down.' },
      2,
      t1,
    );
    assert.equal(b[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(b[0]!.reason, 'BrokerDown');
    assert.equal(b[0]!.observedGeneration, 2);
  });

  it('move lastTransitionTime when the status flips', () => {
    const a = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'Pending', message: 'Waiting.' },
      1,
      t0,
    );
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Converged', message: 'Ok.' }, 1, t1);
    assert.equal(b[0]!.lastTransitionTime, '2026-01-01T01:00:00Z');
    assert.equal(isConditionTrue(b, 'Ready'), true);
  });

  it('cut a message longer than the API allows, so the status write is not refused', () => {
    const long = 'x'.repeat(1024 * 1024);
    const message = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'BadRequest', message: long },
      1,
    )[0]!.message;
    assert.equal(message.length, CONDITION_MESSAGE_LIMIT);
    assert.match(message, /cut to the API limit\)$/);
  });

  it('leave other conditions in place and the input list unchanged', () => {
    const a = setCondition([], { type: 'Ready', status: 'True', reason: 'Converged', message: 'Ok.' }, 1, t0);
    const b = setCondition(
      a,
      { type: 'Degraded', status: 'False', reason: 'Healthy', message: 'Ok.' },
      1,
      t1,
    );
    const c = setCondition(
      b,
      { type: 'Ready', status: 'False', reason: 'Drift', message: 'Changed.' },
      1,
      t1,
    );
    assert.deepEqual(
      c.map((x) => x.type),
      ['Ready', 'Degraded'],
    );
    assert.equal(a.length, 1);
    assert.equal(findCondition(a, 'Ready')?.status, 'True');
    assert.deepEqual(
      removeCondition(c, 'Ready').map((x) => x.type),
      ['Degraded'],
    );
  });
});
