// A broker that goes away and comes back: requests wait through their retries instead of failing
// every reconcile at once. This test stops and starts a node of its own, never the shared one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerError } from '../../../src/rabbitmq/errors.ts';
import { ManagementClient } from '../../../src/rabbitmq/management/client.ts';
import { startRabbitmq, type RabbitmqHandle } from '../../env/rabbitmq.ts';

describe('Management client during a broker outage', () => {
  let broker: RabbitmqHandle;
  let patient: ManagementClient;

  before(async () => {
    broker = await startRabbitmq();
    // Enough retries, and a deadline long enough for them, to outlast a node restart (20 to 60
    // seconds on a busy machine).
    patient = new ManagementClient(
      { url: broker.managementUrl, username: broker.username, password: broker.password },
      {
        retries: 300,
        retryMinDelayMs: 200,
        retryMaxDelayMs: 1_000,
        connectTimeoutMs: 1_000,
        requestTimeoutMs: 180_000,
      },
    );
    await patient.putVhost('outage', {});
  });

  after(async () => {
    await patient.close();
    await broker.destroy();
  });

  it('gives up after its retries with BrokerUnreachable and no credential in the message', async () => {
    const impatient = new ManagementClient(
      { url: broker.managementUrl, username: broker.username, password: broker.password },
      { retries: 2, retryMinDelayMs: 50 },
    );
    await broker.stop(); // and it stays down for the next test
    try {
      const error = await impatient.putVhost('outage', {}).then(
        () => assert.fail('the broker is down'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof BrokerError);
      assert.equal(error.reason, 'BrokerUnreachable');
      assert.equal(error.transient, true);
      assert.ok(!error.message.includes(broker.password));
      assert.ok(
        !error.message.includes(Buffer.from(`${broker.username}:${broker.password}`).toString('base64')),
      );
    } finally {
      await impatient.close();
    }
  });

  it('completes idempotent writes and a binding POST once the broker is back', async () => {
    // The broker is down (the previous test stopped it).
    const writes = Promise.all([
      patient.putQueue('outage', 'q', { durable: true, auto_delete: false, arguments: {} }),
      patient.putExchange('outage', 'x', {
        type: 'direct',
        durable: true,
        auto_delete: false,
        arguments: {},
      }),
    ]);
    // Wait for at least one refused attempt before the broker returns.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await broker.start();
    await writes;
    await patient.createBinding({
      vhost: 'outage',
      source: 'x',
      destination: 'q',
      destination_type: 'queue',
      routing_key: 'k',
      arguments: {},
    });
    assert.ok(await patient.getQueue('outage', 'q'));
    assert.equal((await patient.listBindings('outage', 'x', 'queue', 'q')).length, 1);
  });
});
