import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyOp } from './apply.ts';
import { diffSnapshots } from './drift.ts';
import { exported, snapshot } from './testing.ts';

describe('Writes applied to a snapshot', () => {
  it('removes the bindings of a deleted queue and only those', () => {
    const s = snapshot();
    applyOp(s, { op: 'deleteQueue', vhost: 'orders', name: 'q1', ifEmpty: false, ifUnused: false });
    assert.equal(s.queue('orders', 'q1'), undefined);
    assert.equal(s.allBindings.size, 1);
  });

  it('lists the bindings of a source exchange as bindings come and go', () => {
    const s = snapshot();
    const from = () => s.bindingsFrom('orders', 'x1').map((b) => [b.destination, b.routing_key]);
    assert.deepEqual(from(), [
      ['q1', 'k'],
      ['q1', 'k'],
      ['q2', ''],
    ]);
    const binding = {
      vhost: 'orders',
      source: 'x1',
      destination: 'q2',
      destination_type: 'queue' as const,
      routing_key: 'new',
      arguments: {},
    };
    applyOp(s, { op: 'createBinding', binding });
    assert.equal(from().length, 4);
    applyOp(s, { op: 'deleteQueue', vhost: 'orders', name: 'q1', ifEmpty: false, ifUnused: false });
    assert.deepEqual(from(), [
      ['q2', ''],
      ['q2', 'new'],
    ]);
    applyOp(s, { op: 'deleteExchange', vhost: 'orders', name: 'x1' });
    assert.deepEqual(from(), []);
    assert.deepEqual(s.bindingsFrom('/', 'x1'), [], 'another vhost');
  });

  it('removes everything in a deleted vhost', () => {
    const s = snapshot();
    applyOp(s, { op: 'deleteVhost', name: 'orders' });
    assert.equal(s.size, 2); // vhost "/" and user "app" remain
  });

  it('removes the permissions of a deleted user', () => {
    const s = snapshot();
    applyOp(s, { op: 'deleteUser', name: 'app' });
    assert.equal(s.permissions.size + s.topicPermissions.size, 0);
  });

  it('keeps the arguments of an exchange that exists, as the broker does on redeclare', () => {
    const s = snapshot();
    applyOp(s, {
      op: 'putExchange',
      vhost: 'orders',
      name: 'x1',
      settings: { type: 'headers', durable: true, auto_delete: false, internal: false, arguments: { a: 1 } },
    });
    assert.deepEqual(s.exchange('orders', 'x1')?.arguments, {});
  });

  it('sets and removes limits without touching the rest of the vhost', () => {
    const s = snapshot();
    applyOp(s, { op: 'putVhostLimit', vhost: 'orders', limit: 'max-connections', value: 5 });
    applyOp(s, { op: 'deleteVhostLimit', vhost: 'orders', limit: 'max-queues' });
    assert.deepEqual(s.vhost('orders')?.limits, { 'max-connections': 5 });
    assert.equal(s.vhost('orders')?.tracing, true);
  });

  it('makes a written object equal to the same object read back from the broker', () => {
    const s = snapshot({ ...exported, queues: [] });
    applyOp(s, {
      op: 'putQueue',
      vhost: 'orders',
      name: 'q1',
      settings: { durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' } },
    });
    assert.deepEqual(
      diffSnapshots(s, snapshot()).filter((c) => c.kind === 'queue' && c.change !== 'created'),
      [],
    );
  });

  it('records a written runtime parameter as the export lists it, and forgets a deleted one', () => {
    const s = snapshot();
    const value = { 'src-uri': ['amqp://a'], 'src-queue': 'q', 'dest-uri': ['amqp://b'], 'dest-queue': 'r' };
    applyOp(s, { op: 'putParameter', component: 'shovel', vhost: 'orders', name: 's', value });
    const read = snapshot({
      ...exported,
      parameters: [
        ...(exported.parameters ?? []),
        { component: 'shovel', vhost: 'orders', name: 's', value },
      ],
    });
    assert.deepEqual(diffSnapshots(s, read), []);
    applyOp(s, { op: 'deleteParameter', component: 'shovel', vhost: 'orders', name: 's' });
    assert.equal(s.parameter('shovel', 'orders', 's'), undefined);
  });

  it('removes the shovels and upstreams of a deleted vhost', () => {
    const s = snapshot();
    applyOp(s, { op: 'putParameter', component: 'shovel', vhost: 'orders', name: 's', value: {} });
    applyOp(s, { op: 'deleteVhost', name: 'orders' });
    assert.equal(s.parameters.size, 0);
  });
});
