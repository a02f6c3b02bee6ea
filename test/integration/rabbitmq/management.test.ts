import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { BrokerError } from '../../../src/rabbitmq/errors.ts';
import { ManagementClient } from '../../../src/rabbitmq/management/client.ts';
import { ManagementClientRegistry } from '../../../src/rabbitmq/management/registry.ts';
import { hashPassword, hashingAlgorithms, passwordMatches } from '../../../src/rabbitmq/passwords.ts';
import type { Binding } from '../../../src/rabbitmq/types.ts';
import { amqpUrl, sharedBroker, sharedClient, uniqueName } from './broker.ts';

/** Runs `action`, expecting a BrokerError, and returns it. */
async function brokerError(action: () => Promise<unknown>): Promise<BrokerError> {
  try {
    await action();
  } catch (error) {
    assert.ok(error instanceof BrokerError, `expected a BrokerError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the request to fail');
}

async function publish(url: string, queue: string, count: number): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    for (let i = 0; i < count; i++)
      channel.sendToQueue(queue, Buffer.from(`message ${i}`), { persistent: true });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** Waits until the management API reports the count (its statistics lag by up to 5 seconds). */
async function messageCount(
  client: ManagementClient,
  vhost: string,
  queue: string,
  count: number,
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await client.getQueue(vhost, queue))?.messages === count) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`queue ${queue} never reported ${count} messages`);
}

describe('Management API client against a real broker', () => {
  const client = sharedClient();
  const vhost = uniqueName('it-mgmt');
  const adminUrl = () => amqpUrl(sharedBroker().username, sharedBroker().password, vhost);
  const errors: BrokerError[] = [];
  const collect = async (action: () => Promise<unknown>) => {
    const error = await brokerError(action);
    errors.push(error);
    return error;
  };

  before(async () => {
    await client.putVhost(vhost, { description: 'integration', tags: ['b', 'a'] });
  });

  after(async () => {
    await client.deleteVhost(vhost);
    await client.close();
  });

  describe('Vhosts', () => {
    it('creates a vhost with tags and description and reads it back', async () => {
      const name = uniqueName('it-vh');
      await client.putVhost(name, { description: 'first', tags: ['x', 'y'], tracing: false });
      try {
        const live = await client.getVhost(name);
        assert.ok(live);
        assert.equal(live.description, 'first');
        assert.deepEqual(live.tags, ['x', 'y']);
        await client.putVhost(name, { description: 'second', tags: ['z'], tracing: true });
        const updated = await client.getVhost(name);
        assert.ok(updated);
        assert.equal(updated.description, 'second');
        assert.deepEqual(updated.tags, ['z']);
        assert.equal(updated.tracing, true);
      } finally {
        assert.equal(await client.deleteVhost(name), true);
      }
      assert.equal(await client.getVhost(name), undefined);
      assert.equal(await client.deleteVhost(name), false);
    });

    it('sets and removes vhost limits', async () => {
      await client.putVhostLimit(vhost, 'max-queues', 100);
      await client.putVhostLimit(vhost, 'max-connections', 10);
      assert.deepEqual(await client.getVhostLimits(vhost), { 'max-queues': 100, 'max-connections': 10 });
      await client.deleteVhostLimit(vhost, 'max-connections');
      assert.deepEqual(await client.getVhostLimits(vhost), { 'max-queues': 100 });
      await client.deleteVhostLimit(vhost, 'max-queues');
    });
  });

  describe('Users and permissions', () => {
    it('stores the hash it is given: the user logs in over AMQP with the password', async () => {
      const user = uniqueName('it-user');
      const password = 'correct horse battery staple';
      await client.putUser(user, {
        password_hash: hashPassword(password, hashingAlgorithms.sha512),
        hashing_algorithm: hashingAlgorithms.sha512,
        tags: ['monitoring'],
      });
      try {
        await client.putPermission(vhost, user, { configure: '.*', write: '.*', read: '.*' });
        const connection = await amqp.connect(amqpUrl(user, password, vhost));
        await connection.close();
        await assert.rejects(amqp.connect(amqpUrl(user, 'wrong password', vhost)));
      } finally {
        await client.deleteUser(user);
      }
    });

    it('verifies a hash the broker made for a password', async () => {
      const user = uniqueName('it-user');
      // A plain password sent straight to the broker (the client would hash it), so the broker makes the hash.
      await direct('PUT', user, { password: 'brokers own', tags: '' });
      try {
        const raw = (await direct('GET', user)) as { password_hash: string; hashing_algorithm: string };
        assert.equal(passwordMatches(raw.password_hash, raw.hashing_algorithm, 'brokers own'), true);
        assert.equal(passwordMatches(raw.password_hash, raw.hashing_algorithm, 'not it'), false);
      } finally {
        await client.deleteUser(user);
      }
    });

    it('updates tags and limits and sets permissions and topic permissions', async () => {
      const user = uniqueName('it-user');
      await client.putUser(user, { password: 'pw-one', tags: ['management'] });
      try {
        const created = await client.getUser(user);
        assert.ok(created);
        assert.deepEqual(created.tags, ['management']);
        assert.equal(passwordMatches(created.password_hash, created.hashing_algorithm, 'pw-one'), true);
        await client.putUser(user, { password: 'pw-two', tags: ['monitoring', 'policymaker'] });
        const updated = await client.getUser(user);
        assert.ok(updated);
        assert.deepEqual(updated.tags, ['monitoring', 'policymaker']);
        assert.equal(passwordMatches(updated.password_hash, updated.hashing_algorithm, 'pw-two'), true);

        await client.putUserLimit(user, 'max-channels', 5);
        assert.deepEqual(await client.getUserLimits(user), { 'max-channels': 5 });
        await client.deleteUserLimit(user, 'max-channels');
        assert.deepEqual(await client.getUserLimits(user), {});

        await client.putPermission(vhost, user, { configure: '^app\\.', write: '.*', read: '' });
        assert.deepEqual(await client.getPermission(vhost, user), {
          user,
          vhost,
          configure: '^app\\.',
          write: '.*',
          read: '',
        });
        await client.putTopicPermission(vhost, user, { exchange: 'amq.topic', write: '^a', read: '.*' });
        assert.deepEqual(await client.getTopicPermissions(vhost, user), [
          { user, vhost, exchange: 'amq.topic', write: '^a', read: '.*' },
        ]);
        assert.equal(await client.deleteTopicPermission(vhost, user, 'amq.topic'), true);
        assert.deepEqual(await client.getTopicPermissions(vhost, user), []);
        assert.equal(await client.deletePermission(vhost, user), true);
        assert.equal(await client.getPermission(vhost, user), undefined);
      } finally {
        await client.deleteUser(user);
      }
      assert.equal(await client.getUser(user), undefined);
    });

    it('says which of vhost or user is missing when a permission cannot be set', async () => {
      const error = await collect(() =>
        client.putPermission(vhost, uniqueName('nobody'), { configure: '', write: '', read: '' }),
      );
      assert.equal(error.reason, 'VhostOrUserNotFound');
      assert.match(error.message, /vhost_or_user_not_found/);
    });
  });

  describe('Exchanges and queues', () => {
    it('creates, reads and deletes an exchange with arguments', async () => {
      await client.putExchange(vhost, 'x.crud', {
        type: 'topic',
        durable: true,
        auto_delete: false,
        arguments: { 'alternate-exchange': 'amq.fanout' },
      });
      const live = await client.getExchange(vhost, 'x.crud');
      assert.ok(live);
      assert.equal(live.type, 'topic');
      assert.deepEqual(live.arguments, { 'alternate-exchange': 'amq.fanout' });
      assert.equal(await client.deleteExchange(vhost, 'x.crud'), true);
      assert.equal(await client.getExchange(vhost, 'x.crud'), undefined);
    });

    it('creates a quorum queue and reads its messages and consumers', async () => {
      await client.putQueue(vhost, 'q.quorum', {
        durable: true,
        auto_delete: false,
        arguments: { 'x-queue-type': 'quorum' },
      });
      const live = await client.getQueue(vhost, 'q.quorum');
      assert.ok(live);
      assert.equal(live.type, 'quorum');
      assert.equal(live.durable, true);
      assert.equal(await client.getQueue(vhost, 'q.absent'), undefined);
    });

    it('surfaces the broker error text when a queue exists with other properties', async () => {
      await client.putQueue(vhost, 'q.classic', { durable: true, auto_delete: false, arguments: {} });
      const error = await collect(() =>
        client.putQueue(vhost, 'q.classic', {
          durable: true,
          auto_delete: false,
          arguments: { 'x-queue-type': 'quorum' },
        }),
      );
      assert.equal(error.status, 400);
      assert.equal(error.reason, 'PreconditionFailed');
      assert.match(error.message, /inequivalent arg 'x-queue-type' for queue 'q\.classic'/);
    });

    it('keeps a classic queue that holds messages when deleting with if-empty', async () => {
      await client.putQueue(vhost, 'q.full', { durable: true, auto_delete: false, arguments: {} });
      await publish(adminUrl(), 'q.full', 3);
      await messageCount(client, vhost, 'q.full', 3);
      const error = await collect(() => client.deleteQueue(vhost, 'q.full', { ifEmpty: true }));
      assert.equal(error.reason, 'QueueNotEmpty');
      assert.match(error.message, /not empty/);
      assert.equal((await client.getQueue(vhost, 'q.full'))?.messages, 3);
      assert.equal(await client.deleteQueue(vhost, 'q.full'), true);
    });

    it('keeps a quorum queue that holds messages when deleting with if-empty', async () => {
      await client.putQueue(vhost, 'q.quorum.full', {
        durable: true,
        auto_delete: false,
        arguments: { 'x-queue-type': 'quorum' },
      });
      await publish(adminUrl(), 'q.quorum.full', 1);
      await messageCount(client, vhost, 'q.quorum.full', 1);
      const error = await collect(() => client.deleteQueue(vhost, 'q.quorum.full', { ifEmpty: true }));
      assert.equal(error.reason, 'QueueNotEmpty');
      assert.ok(await client.getQueue(vhost, 'q.quorum.full'));
    });

    it('deletes an empty queue with if-empty, and reports an absent one as already gone', async () => {
      await client.putQueue(vhost, 'q.empty', { durable: true, auto_delete: false, arguments: {} });
      assert.equal(await client.deleteQueue(vhost, 'q.empty', { ifEmpty: true, ifUnused: true }), true);
      assert.equal(await client.deleteQueue(vhost, 'q.empty', { ifEmpty: true }), false);
    });
  });

  describe('Bindings', () => {
    const base = {
      vhost: '',
      source: 'x.headers',
      destination: 'q.bound',
      destination_type: 'queue',
    } as const;

    before(async () => {
      await client.putExchange(vhost, 'x.headers', {
        type: 'headers',
        durable: true,
        auto_delete: false,
        arguments: {},
      });
      await client.putQueue(vhost, 'q.bound', { durable: true, auto_delete: false, arguments: {} });
    });

    it('deletes exactly the binding with the given arguments, never its neighbour', async () => {
      const a: Binding = { ...base, vhost, routing_key: 'k', arguments: { 'x-match': 'all', team: 'a' } };
      const b: Binding = { ...base, vhost, routing_key: 'k', arguments: { 'x-match': 'all', team: 'b' } };
      const plain: Binding = { ...base, vhost, routing_key: 'k', arguments: {} };
      const keyA = await client.createBinding(a);
      await client.createBinding(b);
      await client.createBinding(plain);
      const listed = await client.listBindings(vhost, 'x.headers', 'queue', 'q.bound');
      assert.equal(listed.length, 3);
      assert.equal(listed.find((item) => item.arguments.team === 'a')?.properties_key, keyA);

      assert.equal(await client.deleteBinding({ ...a, arguments: { team: 'a', 'x-match': 'all' } }), true);
      const left = await client.listBindings(vhost, 'x.headers', 'queue', 'q.bound');
      assert.deepEqual(left.map((item) => item.arguments.team ?? null).sort(), ['b', null]);
      assert.equal(await client.deleteBinding(a), false);
      assert.equal(await client.deleteBinding(plain), true);
      assert.equal(await client.deleteBinding(b), true);
    });

    it('round-trips routing keys that need escaping', async () => {
      const binding: Binding = { ...base, vhost, routing_key: 'a/b c%~', arguments: {} };
      await client.createBinding(binding);
      const listed = await client.listBindings(vhost, 'x.headers', 'queue', 'q.bound');
      assert.deepEqual(
        listed.map((item) => item.routing_key),
        ['a/b c%~'],
      );
      assert.equal(await client.deleteBinding(binding), true);
      assert.deepEqual(await client.listBindings(vhost, 'x.headers', 'queue', 'q.bound'), []);
    });

    it('binds exchange to exchange', async () => {
      const binding: Binding = {
        vhost,
        source: 'x.headers',
        destination: 'amq.topic',
        destination_type: 'exchange',
        routing_key: 'r',
        arguments: {},
      };
      await client.createBinding(binding);
      assert.equal((await client.listBindings(vhost, 'x.headers', 'exchange', 'amq.topic')).length, 1);
      assert.equal(await client.deleteBinding(binding), true);
    });
  });

  describe('Policies, overview and definitions', () => {
    it('creates, updates and deletes a policy, and shows why the broker refused a bad one', async () => {
      await client.putPolicy(vhost, 'p.ttl', {
        pattern: '^q\\.',
        definition: { 'message-ttl': 1000 },
        priority: 1,
        'apply-to': 'queues',
      });
      assert.deepEqual((await client.getPolicy(vhost, 'p.ttl'))?.definition, { 'message-ttl': 1000 });
      await client.putPolicy(vhost, 'p.ttl', {
        pattern: '^q\\.',
        definition: { 'message-ttl': 2000 },
        priority: 2,
        'apply-to': 'queues',
      });
      assert.equal((await client.getPolicy(vhost, 'p.ttl'))?.priority, 2);
      const error = await collect(() =>
        client.putPolicy(vhost, 'p.bad', {
          pattern: '.*',
          definition: { 'no-such-key': 1 },
          priority: 0,
          'apply-to': 'all',
        }),
      );
      assert.equal(error.reason, 'BadRequest');
      assert.match(error.message, /no-such-key/);
      assert.equal(await client.deletePolicy(vhost, 'p.ttl'), true);
      assert.equal(await client.getPolicy(vhost, 'p.ttl'), undefined);
    });

    it('applies a policy to a queue declared at the same moment (rabbitmq-server#4931)', async () => {
      const raceVhost = uniqueName('it-policy-race');
      await client.putVhost(raceVhost, {});
      try {
        const pairs = Array.from({ length: 100 }, (_, i) => ({ queue: `race-${i}`, policy: `p-${i}` }));
        await Promise.all(
          pairs.flatMap(({ queue, policy }) => [
            client.putQueue(raceVhost, queue, { durable: true, auto_delete: false, arguments: {} }),
            client.putPolicy(raceVhost, policy, {
              pattern: `^${queue}$`,
              definition: { 'message-ttl': 60_000 },
              priority: 0,
              'apply-to': 'queues',
            }),
          ]),
        );
        // The broker reports a queue's policy with its statistics, up to 5 seconds late; a queue
        // that missed its policy never reports it.
        let missing: string[] = [];
        for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
          const listed = JSON.parse(
            (await client.request('GET', `/api/queues/${encodeURIComponent(raceVhost)}?columns=name,policy`))
              .text,
          ) as { name: string; policy?: string | null }[];
          const applied = new Map(listed.map((queue) => [queue.name, queue.policy]));
          missing = pairs
            .filter(({ queue, policy }) => applied.get(queue) !== policy)
            .map(({ queue }) => queue);
          if (missing.length === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assert.deepEqual(missing, [], `${missing.length} of ${pairs.length} queues never got their policy`);
      } finally {
        await client.deleteVhost(raceVhost);
      }
    });

    it('reads the overview and the definitions of the broker and of one vhost', async () => {
      assert.match((await client.overview()).rabbitmq_version ?? '', /^\d+\.\d+/);
      await client.putQueue(vhost, 'q.defs', { durable: true, auto_delete: false, arguments: {} });
      const all = await client.definitions();
      assert.ok(all.queues?.some((q) => q.vhost === vhost && q.name === 'q.defs'));
      const one = await client.vhostDefinitions(vhost);
      assert.ok(one.queues?.some((q) => q.name === 'q.defs'));
    });
  });

  describe('Errors', () => {
    it('reports wrong credentials as Unauthorized without the password in the message', async () => {
      const password = 'definitely-not-the-password';
      const wrong = new ManagementClient({ ...sharedBroker(), password });
      try {
        const error = await collect(() => wrong.overview());
        assert.equal(error.reason, 'Unauthorized');
        assert.equal(error.status, 401);
        assert.ok(!error.message.includes(password));
      } finally {
        await wrong.close();
      }
    });

    it('reports an unreachable broker after its retries', async () => {
      const closedPort = new ManagementClient(
        { ...sharedBroker(), url: 'http://127.0.0.1:1' },
        { retries: 2, retryMinDelayMs: 10 },
      );
      try {
        const error = await collect(() => closedPort.overview());
        assert.equal(error.reason, 'BrokerUnreachable');
        assert.equal(error.transient, true);
        assert.match(error.message, /after 3 attempts/);
      } finally {
        await closedPort.close();
      }
    });

    it('never puts a credential into an error message', () => {
      const { username, password } = sharedBroker();
      const basic = Buffer.from(`${username}:${password}`).toString('base64');
      assert.ok(errors.length >= 5);
      for (const error of errors) {
        assert.ok(!error.message.includes(password), error.message);
        assert.ok(!error.message.includes(basic), error.message);
        assert.ok(!/authorization/i.test(error.message), error.message);
      }
    });
  });

  describe('Client registry', () => {
    it('shares one client per broker and credentials', async () => {
      const registry = new ManagementClientRegistry();
      try {
        const a = registry.get(sharedBroker());
        assert.equal(registry.get({ ...sharedBroker() }), a);
        assert.notEqual(registry.get({ ...sharedBroker(), password: 'other' }), a);
        assert.equal((await a.overview()).rabbitmq_version !== undefined, true);
      } finally {
        await registry.close();
      }
    });
  });
});

/** A user request straight to the broker, bypassing the client. */
async function direct(method: 'GET' | 'PUT', user: string, body?: unknown): Promise<unknown> {
  const { url, username, password } = sharedBroker();
  const response = await fetch(new URL(`/api/users/${encodeURIComponent(user)}`, url), {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.ok(response.ok, `${method} /api/users/${user}: ${response.status}`);
  return method === 'GET' ? await response.json() : undefined;
}
