// The shared broker is a real RabbitMQ node: its management API and AMQP listener work together.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { connect, type ConsumeMessage } from 'amqplib';
import { testEnv } from '../../env/shared.ts';

describe('The test broker', () => {
  const env = testEnv();
  const vhost = `env-smoke-${randomBytes(4).toString('hex')}`;
  const management = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${env.managementUrl}/api${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${env.username}:${env.password}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: body === undefined ? null : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} /api${path} answered ${res.status}: ${await res.text()}`);
    return res;
  };

  after(async () => {
    await management('DELETE', `/vhosts/${encodeURIComponent(vhost)}`);
  });

  it('delivers a message published to a queue in a vhost created through the management API', async () => {
    await management('PUT', `/vhosts/${encodeURIComponent(vhost)}`, {
      description: 'test environment smoke test',
    });
    await management('PUT', `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(env.username)}`, {
      configure: '.*',
      write: '.*',
      read: '.*',
    });

    const url = new URL(env.amqpUrl);
    url.pathname = `/${encodeURIComponent(vhost)}`;
    const connection = await connect(url.toString());
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('greetings', { durable: true });
      const received = new Promise<ConsumeMessage>((resolve) => {
        void channel.consume(queue, (msg) => {
          if (msg) resolve(msg);
        });
      });
      channel.sendToQueue(queue, Buffer.from('hello from warren'), { contentType: 'text/plain' });

      const msg = await received;
      channel.ack(msg);
      assert.equal(msg.content.toString(), 'hello from warren');
      assert.equal(msg.properties.contentType, 'text/plain');
      await channel.close();
    } finally {
      await connection.close();
    }

    const queue = (await (
      await management('GET', `/queues/${encodeURIComponent(vhost)}/greetings`)
    ).json()) as {
      vhost: string;
    };
    assert.equal(queue.vhost, vhost);
  });
});

describe('The test broker for shovels, federation and streams', () => {
  const env = testEnv();
  const get = async (path: string) => {
    const res = await fetch(`${env.managementUrl}/api${path}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${env.username}:${env.password}`).toString('base64')}`,
      },
    });
    return { status: res.status, body: await res.json() };
  };

  it('serves the shovel and federation APIs and listens for the stream protocol', async () => {
    assert.equal((await get('/shovels')).status, 200);
    assert.equal((await get('/federation-links')).status, 200);
    const overview = (await get('/overview')).body as { listeners: { protocol: string }[] };
    assert.ok(
      overview.listeners.some((listener) => listener.protocol === 'stream'),
      `listeners: ${overview.listeners.map((l) => l.protocol).join(', ')}`,
    );
  });
});
