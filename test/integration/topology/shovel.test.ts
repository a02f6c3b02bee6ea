// Shovel through the API server, checked with real AMQP clients: messages published to the source queue
// arrive at the destination, between two vhosts of the test broker and between two brokers. The URIs live in a
// Secret: a missing Secret or key is reported by name, a changed Secret moves the shovel within seconds, and
// no URI or password appears in anything the operator logs or writes.
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startRabbitmq, type RabbitmqHandle } from '../../env/rabbitmq.ts';
import {
  broker,
  core,
  create,
  createConnectionSecret,
  createNamespace,
  enc,
  eventually,
  remove,
  sleep,
  startOperator,
  testEnv,
  waitGone,
  waitReady,
  waitReason,
  type Operator,
  assertNoBrokerWrites,
} from './harness.ts';

let operator: Operator;
let ns: string;
const stamp = Date.now();
const source = `shovel-src-${stamp}`;
const destination = `shovel-dest-${stamp}`;
const other = `shovel-other-${stamp}`;
const rmq = broker();
const ref = { connectionSecret: { name: 'broker' } };
// The shovel's own user: its password must never leave the Secret.
const shovelUser = `shovel-${stamp}`;
const shovelPassword = randomBytes(18).toString('base64url');

interface Target {
  managementUrl: string;
  amqpUrl: string;
  username: string;
  password: string;
}

function amqpUri(target: Target, vhost: string, user = shovelUser, password = shovelPassword): string {
  const url = new URL(target.amqpUrl);
  return `amqp://${enc(user)}:${enc(password)}@${url.host}/${enc(vhost)}`;
}

async function addShovelUser(target: Target, vhosts: string[]): Promise<void> {
  const api = broker(target);
  assert.ok(
    (await api.call('PUT', `/api/users/${enc(shovelUser)}`, { password: shovelPassword, tags: '' })).status <
      300,
  );
  for (const vhost of vhosts) {
    const permissions = { configure: '.*', write: '.*', read: '.*' };
    const put = await api.call('PUT', `/api/permissions/${enc(vhost)}/${enc(shovelUser)}`, permissions);
    assert.ok(put.status < 300);
  }
}

/** Creates the Secret, or merges the keys into it (keeping the label Warren watches it by). */
async function putSecret(name: string, data: Record<string, string>): Promise<void> {
  try {
    await core().createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name, namespace: ns }, stringData: data },
    });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
    await core().patchNamespacedSecret(
      { namespace: ns, name, body: { stringData: data } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

/** Publishes one message to a queue through the default exchange, confirmed. */
async function publish(target: Target, vhost: string, queue: string, body: string): Promise<void> {
  const connection = await amqp.connect(amqpUri(target, vhost, target.username, target.password));
  try {
    const channel = await connection.createConfirmChannel();
    channel.sendToQueue(queue, Buffer.from(body), { persistent: true });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** Waits for a message with this body in a queue, taking it. */
async function receive(target: Target, vhost: string, queue: string, body: string): Promise<amqp.GetMessage> {
  const connection = await amqp.connect(amqpUri(target, vhost, target.username, target.password));
  try {
    const channel = await connection.createChannel();
    return await eventually(`"${body}" in ${queue} of vhost ${vhost}`, async () => {
      const message = await channel.get(queue, { noAck: true });
      return message !== false && message.content.toString() === body ? message : undefined;
    });
  } finally {
    await connection.close();
  }
}

const parameterPath = (vhost: string, name: string) => `/api/parameters/shovel/${enc(vhost)}/${enc(name)}`;

before(async () => {
  ns = await createNamespace('topology-shovel');
  await createConnectionSecret(ns, 'broker');
  operator = await startOperator({ brokerRefreshInterval: '2s', dependencyGracePeriod: '5s' });
  for (const vhost of [source, destination, other]) {
    await create('Vhost', ns, vhost, { name: vhost, rabbitmqClusterReference: ref });
    await waitReady('Vhost', ns, vhost);
  }
  for (const [name, vhost, queue] of [
    ['in', source, 'in'],
    ['out', destination, 'out'],
    ['other-out', other, 'out'],
  ] as const) {
    await create('Queue', ns, name, { name: queue, vhost, type: 'classic', rabbitmqClusterReference: ref });
    await waitReady('Queue', ns, name);
  }
  await addShovelUser(testEnv(), [source, destination, other]);
});

after(async () => {
  await operator.stop();
  for (const vhost of [source, destination, other]) await rmq.call('DELETE', `/api/vhosts/${enc(vhost)}`);
  await rmq.call('DELETE', `/api/users/${enc(shovelUser)}`);
});

describe('Shovel', () => {
  it('moves messages from a queue in one vhost to a queue in another', async () => {
    await putSecret('vhost-to-vhost', {
      srcUri: amqpUri(testEnv(), source),
      destUri: amqpUri(testEnv(), destination),
    });
    await create('Shovel', ns, 'vhost-to-vhost', {
      name: 'vhost-to-vhost',
      vhost: source,
      uriSecret: { name: 'vhost-to-vhost' },
      srcQueue: 'in',
      destQueue: 'out',
      ackMode: 'on-confirm',
      srcPrefetchCount: 10,
      destAddForwardHeaders: true,
      rabbitmqClusterReference: ref,
    });
    await waitReady('Shovel', ns, 'vhost-to-vhost');
    const parameter = await rmq.get<{ value: Record<string, unknown> }>(
      parameterPath(source, 'vhost-to-vhost'),
    );
    assert.deepEqual(parameter?.value, {
      'src-uri': [amqpUri(testEnv(), source)],
      'dest-uri': [amqpUri(testEnv(), destination)],
      'ack-mode': 'on-confirm',
      'src-prefetch-count': 10,
      'dest-add-forward-headers': true,
      'src-queue': 'in',
      'dest-queue': 'out',
    });

    await publish(testEnv(), source, 'in', 'order 1');
    const moved = await receive(testEnv(), destination, 'out', 'order 1');
    assert.ok(moved.properties.headers?.['x-shovelled'], 'the forward headers were added');
  });

  it('makes no write while nothing changes', async () => {
    await assertNoBrokerWrites();
  });

  it('follows a change of its Secret within seconds, as an update naming the key', async () => {
    await putSecret('vhost-to-vhost', {
      srcUri: amqpUri(testEnv(), source),
      destUri: amqpUri(testEnv(), other),
    });
    await eventually(
      'the new destination on the broker',
      async () => {
        const parameter = await rmq.get<{ value: Record<string, unknown> }>(
          parameterPath(source, 'vhost-to-vhost'),
        );
        return JSON.stringify(parameter?.value['dest-uri']) === JSON.stringify([amqpUri(testEnv(), other)]);
      },
      { timeoutMs: 15_000 },
    );
    const event = await eventually('an Updated event', async () => {
      const list = await core().listNamespacedEvent({ namespace: ns });
      return list.items.find((e) => e.reason === 'Updated' && e.involvedObject.name === 'vhost-to-vhost');
    });
    assert.match(event.message ?? '', /: destUri\.$/);
    await publish(testEnv(), source, 'in', 'order 2');
    await receive(testEnv(), other, 'out', 'order 2');
  });

  it('restores a shovel deleted or changed on the broker', async () => {
    assert.equal((await rmq.call('DELETE', parameterPath(source, 'vhost-to-vhost'))).status, 204);
    await eventually('the deleted shovel restored', () => rmq.get(parameterPath(source, 'vhost-to-vhost')));
    const live = await rmq.get<{ value: Record<string, unknown> }>(parameterPath(source, 'vhost-to-vhost'));
    const changed = await rmq.call('PUT', parameterPath(source, 'vhost-to-vhost'), {
      value: { ...live?.value, 'ack-mode': 'no-ack' },
    });
    assert.ok(changed.status < 300);
    await eventually('the changed shovel restored', async () => {
      const parameter = await rmq.get<{ value: Record<string, unknown> }>(
        parameterPath(source, 'vhost-to-vhost'),
      );
      return parameter?.value['ack-mode'] === 'on-confirm';
    });
  });

  it('says which Secret or key is missing, and recovers when it appears', async () => {
    await create('Shovel', ns, 'waiting', {
      name: 'waiting',
      vhost: source,
      uriSecret: { name: 'waiting-uris' },
      srcQueue: 'in',
      destQueue: 'out',
      rabbitmqClusterReference: ref,
    });
    const missing = await waitReason('Shovel', ns, 'waiting', 'SecretNotFound');
    assert.match(missing.status?.conditions?.[0]?.message ?? '', /Secret "waiting-uris".*srcUri/);
    await putSecret('waiting-uris', { srcUri: amqpUri(testEnv(), source) });
    const noKey = await waitReason('Shovel', ns, 'waiting', 'SecretInvalid');
    assert.match(
      noKey.status?.conditions?.[0]?.message ?? '',
      /Secret "waiting-uris" .*lacks the key destUri/,
    );
    await putSecret('waiting-uris', {
      srcUri: amqpUri(testEnv(), source),
      destUri: amqpUri(testEnv(), destination),
    });
    await waitReady('Shovel', ns, 'waiting');
    await remove('Shovel', ns, 'waiting');
    await waitGone('Shovel', ns, 'waiting');
    assert.equal(await rmq.get(parameterPath(source, 'waiting')), undefined);
  });

  it('moves messages to a queue on another broker', async () => {
    let second: RabbitmqHandle | undefined;
    try {
      second = await startRabbitmq();
      await addShovelUser(second, ['/']);
      assert.ok((await broker(second).call('PUT', '/api/queues/%2F/remote', { durable: true })).status < 300);
      await putSecret('to-second-broker', {
        srcUri: amqpUri(testEnv(), source),
        destUri: amqpUri(second, '/'),
      });
      await create('Shovel', ns, 'to-second-broker', {
        name: 'to-second-broker',
        vhost: source,
        uriSecret: { name: 'to-second-broker' },
        srcExchange: 'amq.topic',
        srcExchangeKey: 'remote.#',
        destQueue: 'remote',
        rabbitmqClusterReference: ref,
      });
      await waitReady('Shovel', ns, 'to-second-broker');
      // The shovel binds a queue of its own to the source exchange once it runs.
      await eventually('the shovel running', async () => {
        const shovels = await rmq.get<{ name: string; state: string }[]>(`/api/shovels/${enc(source)}`);
        return shovels?.some((s) => s.name === 'to-second-broker' && s.state === 'running');
      });
      const connection = await amqp.connect(
        amqpUri(testEnv(), source, testEnv().username, testEnv().password),
      );
      try {
        const channel = await connection.createConfirmChannel();
        channel.publish('amq.topic', 'remote.order', Buffer.from('order 3'));
        await channel.waitForConfirms();
      } finally {
        await connection.close();
      }
      await receive(second, '/', 'remote', 'order 3');

      await remove('Shovel', ns, 'to-second-broker');
      await waitGone('Shovel', ns, 'to-second-broker');
      assert.equal(await rmq.get(parameterPath(source, 'to-second-broker')), undefined);
    } finally {
      await second?.destroy();
    }
  });

  it('moves what srcDeleteAfter asks for, deletes itself, and is not brought back', async () => {
    await create('Queue', ns, 'batch', {
      name: 'batch',
      vhost: source,
      type: 'classic',
      rabbitmqClusterReference: ref,
    });
    await create('Queue', ns, 'batch-out', {
      name: 'batch-out',
      vhost: destination,
      type: 'classic',
      rabbitmqClusterReference: ref,
    });
    await waitReady('Queue', ns, 'batch');
    await waitReady('Queue', ns, 'batch-out');
    for (const body of ['batch 1', 'batch 2', 'batch 3']) await publish(testEnv(), source, 'batch', body);
    await putSecret('one-off', {
      srcUri: amqpUri(testEnv(), source),
      destUri: amqpUri(testEnv(), destination),
    });
    await create('Shovel', ns, 'one-off', {
      name: 'one-off',
      vhost: source,
      uriSecret: { name: 'one-off' },
      srcQueue: 'batch',
      srcDeleteAfter: '2',
      destQueue: 'batch-out',
      rabbitmqClusterReference: ref,
    });
    await waitReady('Shovel', ns, 'one-off');
    await receive(testEnv(), destination, 'batch-out', 'batch 1');
    await receive(testEnv(), destination, 'batch-out', 'batch 2');
    await eventually(
      'the shovel gone once done',
      async () => (await rmq.get(parameterPath(source, 'one-off'))) === undefined,
    );
    await sleep(5000); // two refresh intervals
    assert.equal(
      await rmq.get(parameterPath(source, 'one-off')),
      undefined,
      'the finished shovel stays gone',
    );
    // The third message is still at the source: nothing moved it after the shovel finished.
    await receive(testEnv(), source, 'batch', 'batch 3');
    await waitReady('Shovel', ns, 'one-off');
    await remove('Shovel', ns, 'one-off');
    await waitGone('Shovel', ns, 'one-off');
  });

  it('never shows a URI or the shovel user’s password in logs, Events, statuses or metrics', async () => {
    const output = await operator.output(ns);
    assert.ok(output.includes('vhost-to-vhost'), 'the output covers the shovels');
    assert.doesNotMatch(output, new RegExp(shovelPassword));
    assert.doesNotMatch(output, new RegExp(`${enc(shovelUser)}:`));
  });

  it('deletes the shovel with the object', async () => {
    await remove('Shovel', ns, 'vhost-to-vhost');
    await waitGone('Shovel', ns, 'vhost-to-vhost');
    assert.equal(await rmq.get(parameterPath(source, 'vhost-to-vhost')), undefined);
  });
});
