import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { brokerProofLines, conditionOf, readyTable } from './demo-report.ts';

describe('Demo status table', () => {
  it('aligns kind, name, ready and reason in columns', () => {
    const table = readyTable([
      { kind: 'Vhost', name: 'orders', ready: 'True', reason: 'Reconciled', message: '' },
      { kind: 'Queue', name: 'orders-billing', ready: 'True', reason: 'Reconciled', message: 'ok' },
    ]);
    assert.equal(
      table,
      [
        'KIND   NAME            READY  REASON',
        'Vhost  orders          True   Reconciled',
        'Queue  orders-billing  True   Reconciled',
      ].join('\n'),
    );
  });

  it('shows the message of a row that is not Ready', () => {
    const table = readyTable([
      {
        kind: 'Queue',
        name: 'a',
        ready: 'False',
        reason: 'BrokerUnavailable',
        message: 'connection refused',
      },
      { kind: 'Queue', name: 'b', ready: 'True', reason: 'Reconciled', message: 'hidden' },
    ]);
    assert.match(table, /BrokerUnavailable\s+connection refused/);
    assert.doesNotMatch(table, /hidden/);
  });

  it('finds a condition by type', () => {
    const object = { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'X' }] } };
    assert.equal(conditionOf(object, 'Ready')?.reason, 'X');
    assert.equal(conditionOf(object, 'AllReplicasReady'), undefined);
  });
});

describe('Demo broker proof', () => {
  it('lists queues with their type, bindings by key, and the routed message', () => {
    const lines = brokerProofLines(
      [
        { name: 'orders.shipping', type: 'quorum' },
        { name: 'orders.billing', type: 'quorum' },
      ],
      [
        { source: 'orders.dead-letter', destination: 'orders.dead-letter', routing_key: '' },
        { source: 'orders', destination: 'orders.billing', routing_key: 'orders.created' },
      ],
      { routingKey: 'orders.created', body: '{"orderId":"1"}' },
    );
    assert.deepEqual(lines, [
      'queues in vhost orders: orders.billing (quorum), orders.shipping (quorum)',
      'bindings in vhost orders:',
      '  orders -[orders.created]-> orders.billing',
      '  orders.dead-letter -[#]-> orders.dead-letter',
      'order-service published to exchange orders with key orders.created;',
      'billing-service consumed it from orders.billing: {"orderId":"1"}',
    ]);
  });
});
