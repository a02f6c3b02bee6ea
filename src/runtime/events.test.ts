import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventRecorder } from './events.ts';
import { ApiError } from './kube-client.ts';
import type { KubeClient } from './kube-client.ts';
import { createLogger } from './logger.ts';

/** A client whose writes stay in flight until released, counting the most ever in flight at once. */
function heldClient() {
  const held: (() => void)[] = [];
  const created: unknown[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const hold = async () => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise<void>((resolve) => held.push(resolve));
    inFlight -= 1;
  };
  const client = {
    create: async (_resource: unknown, body: unknown) => {
      await hold();
      created.push(body);
      return body;
    },
    mergePatch: async (_resource: unknown, _key: unknown, body: unknown) => {
      await hold();
      return body;
    },
  } as unknown as KubeClient;
  const releaseAll = async () => {
    while (held.length > 0 || inFlight > 0) {
      held.splice(0).forEach((release) => {
        release();
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { client, created, releaseAll, maxInFlight: () => maxInFlight };
}

const object = (name: string) => ({
  apiVersion: 'warren.dev/v1alpha1',
  kind: 'Queue',
  metadata: { name, namespace: 'apps', uid: `uid-${name}` },
});

function recorder(client: KubeClient, options: { concurrency?: number; maxPending?: number } = {}) {
  return new EventRecorder({
    client,
    logger: createLogger({ level: 'silent' }),
    controller: 'warren.dev/operator',
    instance: 'test',
    ...options,
  });
}

describe('Event recorder', () => {
  it('sends a burst of Events a few at a time, and all of them', async () => {
    const api = heldClient();
    const events = recorder(api.client, { concurrency: 3 });
    for (let i = 0; i < 20; i++) events.normal(object(`q${i}`), 'Created', `Created queue "q${i}".`);
    await api.releaseAll();
    assert.equal(api.maxInFlight(), 3);
    assert.equal(api.created.length, 20);
  });

  it('drops what exceeds the backlog instead of holding it in memory', async () => {
    const api = heldClient();
    const events = recorder(api.client, { concurrency: 1, maxPending: 5 });
    for (let i = 0; i < 20; i++) events.normal(object(`q${i}`), 'Created', `Created queue "q${i}".`);
    await api.releaseAll();
    // One in flight at once plus five waiting.
    assert.equal(api.created.length, 6);
  });

  it('lets shutdown wait until the backlog is sent, for as long as it allows', async () => {
    const api = heldClient();
    const events = recorder(api.client, { concurrency: 2 });
    for (let i = 0; i < 6; i++) events.normal(object(`q${i}`), 'Created', `Created queue "q${i}".`);
    assert.equal(await events.flush(10), 6, 'nothing is sent while the API server holds the writes');
    const flushed = events.flush(60_000);
    await api.releaseAll();
    assert.equal(await flushed, 0);
    assert.equal(api.created.length, 6);
    assert.equal(await events.flush(10), 0, 'an idle recorder flushes at once');
  });

  it('keeps the note free of credentials', async () => {
    const api = heldClient();
    const events = recorder(api.client);
    events.warning(object('q'), 'BrokerRejected', 'login failed for amqp://app:s3cret@broker:5672/');
    await api.releaseAll();
    const note = (api.created[0] as { note: string }).note;
    assert.doesNotMatch(note, /s3cret/);
  });

  it('stops sending Events into a namespace the API server says is being deleted', async () => {
    const attempts: string[] = [];
    const client = {
      create: (_resource: unknown, body: { metadata: { namespace: string } }) => {
        attempts.push(body.metadata.namespace);
        if (body.metadata.namespace !== 'apps') return Promise.resolve(body);
        const refusal = new ApiError(403, 'Forbidden', 'unable to create new content in namespace apps', {
          causes: ['NamespaceTerminating'],
        });
        return Promise.reject(refusal);
      },
    } as unknown as KubeClient;
    const events = recorder(client, { concurrency: 1 });
    for (const name of ['a', 'b', 'c']) events.normal(object(name), 'Deleted', 'gone');
    events.normal(
      { ...object('d'), metadata: { ...object('d').metadata, namespace: 'other' } },
      'Created',
      'ok',
    );
    assert.equal(await events.flush(1000), 0);
    assert.deepEqual(attempts, ['apps', 'other'], 'one refusal, then only the other namespace is sent to');
  });
});
