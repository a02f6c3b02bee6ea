import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { operatorPolicySpecSchema } from '../../api/index.ts';
import { wireRequest } from '../../rabbitmq/operations.ts';
import { policyGateClaim } from '../../rabbitmq/policy-gate.ts';
import { applyOp, buildSnapshot } from '../../rabbitmq/snapshot/index.ts';
import { planConverge } from '../plan.ts';
import { operatorPolicyKind } from './operator-policy.ts';
import { fakeSecrets, noReferences } from './testing.ts';

const base = {
  name: 'cap',
  vhost: 'shop',
  pattern: '^orders\\.',
  definition: { 'max-length': 2 },
  rabbitmqClusterReference: { name: 'rmq' },
};

const live = {
  vhost: 'shop',
  name: 'cap',
  pattern: '^orders\\.',
  'apply-to': 'queues',
  priority: 0,
  definition: { 'max-length': 2 },
};

/** A broker state read as the snapshot reads it: operator policies come from their own listing. */
function stateWith(operatorPolicies: (typeof live)[]) {
  return buildSnapshot('test', 1, { definitions: { vhosts: [{ name: 'shop' }] }, operatorPolicies });
}

describe('OperatorPolicy', () => {
  const spec = operatorPolicySpecSchema.parse(base);
  const want = {
    vhost: 'shop',
    name: 'cap',
    pattern: '^orders\\.',
    applyTo: 'queues',
    priority: 0,
    definition: { 'max-length': 2 },
  };

  it('applies to all queue types with priority 0 unless the spec says otherwise', () => {
    assert.deepEqual(operatorPolicyKind.desired(spec, noReferences), { ok: true, want });
  });

  it('accepts only the keys operator policies allow, as non-negative integers', () => {
    const definition = {
      expires: 1,
      'message-ttl': 2,
      'max-length': 3,
      'max-length-bytes': 4,
      'max-in-memory-length': 5,
      'max-in-memory-bytes': 6,
      'delivery-limit': 7,
    };
    assert.ok(operatorPolicySpecSchema.safeParse({ ...base, definition }).success);
    const refused = operatorPolicySpecSchema.safeParse({ ...base, definition: { 'ha-mode': 'all' } });
    assert.ok(!refused.success);
    assert.ok(!operatorPolicySpecSchema.safeParse({ ...base, definition: { overflow: 1 } }).success);
    assert.ok(!operatorPolicySpecSchema.safeParse({ ...base, definition: { 'max-length': -1 } }).success);
    assert.ok(!operatorPolicySpecSchema.safeParse({ ...base, definition: {} }).success);
    assert.ok(!operatorPolicySpecSchema.safeParse({ ...base, applyTo: 'exchanges' }).success);
  });

  it('creates a missing operator policy, updates what differs in place, and leaves an equal one alone', () => {
    assert.deepEqual(planConverge(operatorPolicyKind, want, stateWith([]), fakeSecrets, false), {
      type: 'write',
      verb: 'create',
      changes: ['missing'],
      ops: [
        {
          op: 'putOperatorPolicy',
          vhost: 'shop',
          name: 'cap',
          settings: {
            pattern: '^orders\\.',
            definition: { 'max-length': 2 },
            priority: 0,
            'apply-to': 'queues',
          },
        },
      ],
    });
    const changed = stateWith([{ ...live, priority: 5, definition: { 'max-length': 9 } }]);
    const update = planConverge(operatorPolicyKind, want, changed, fakeSecrets, true);
    assert.ok(update.type === 'write');
    assert.equal(update.verb, 'restore');
    assert.deepEqual(update.changes, ['priority', 'definition']);
    assert.deepEqual(planConverge(operatorPolicyKind, want, stateWith([live]), fakeSecrets, true), {
      type: 'in-sync',
    });
  });

  it('waits for its vhost', () => {
    const plan = planConverge(
      operatorPolicyKind,
      { ...want, vhost: 'other' },
      stateWith([]),
      fakeSecrets,
      false,
    );
    assert.equal(plan.type, 'waiting');
  });

  it('is deleted when it is there, and is done when it is gone', () => {
    assert.deepEqual(operatorPolicyKind.deletion(want, 'delete', live), {
      action: 'delete',
      ops: [{ op: 'deleteOperatorPolicy', vhost: 'shop', name: 'cap' }],
    });
    assert.deepEqual(operatorPolicyKind.deletion(want, 'delete', undefined), { action: 'gone' });
  });

  it('is written to the operator-policies API, alone in its vhost, and recorded in the snapshot', () => {
    const put = operatorPolicyKind.write(want, undefined, fakeSecrets)[0]!;
    assert.deepEqual(wireRequest(put), {
      method: 'PUT',
      path: '/api/operator-policies/shop/cap',
      body: { pattern: '^orders\\.', definition: { 'max-length': 2 }, priority: 0, 'apply-to': 'queues' },
    });
    assert.deepEqual(policyGateClaim(put), { vhost: 'shop', exclusive: true });
    const state = stateWith([]);
    applyOp(state, put);
    assert.deepEqual(state.operatorPolicy('shop', 'cap'), live);
    assert.equal(state.policy('shop', 'cap'), undefined, 'an operator policy is not a policy');
    applyOp(state, { op: 'deleteVhost', name: 'shop' });
    assert.equal(state.operatorPolicy('shop', 'cap'), undefined, 'it goes with its vhost');
  });
});
