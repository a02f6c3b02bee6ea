// A reconcile's signal reaches the management API: an abort stops a request and its retries.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ManagementClient } from './client.ts';

describe('Management client with a signal', () => {
  const seen: string[] = [];
  const open = new Set<ServerResponse>();
  let unavailable = false;
  const server = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    if (unavailable) {
      res.writeHead(503).end();
      return;
    }
    // Never answers: a broker that hangs.
    open.add(res);
    res.on('close', () => open.delete(res));
  });
  let client: ManagementClient;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    client = new ManagementClient(
      { url: `http://127.0.0.1:${port}`, username: 'guest', password: 'guest' },
      { retries: 3, retryMinDelayMs: 200, retryMaxDelayMs: 200 },
    );
  });
  after(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('cuts off a write in flight when the signal aborts, and does not retry it', async () => {
    seen.length = 0;
    const abort = new AbortController();
    const write = client.putQueue(
      '/',
      'orders',
      { durable: true, auto_delete: false, arguments: {} },
      abort.signal,
    );
    await until(() => open.size === 1);
    abort.abort(new Error('leader election lost'));
    await assert.rejects(write, /leader election lost/);
    await until(() => open.size === 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(seen, ['PUT /api/queues/%2F/orders'], 'sent once, never retried');
  });

  it('stops retrying a failing request when the signal aborts during the backoff', async () => {
    seen.length = 0;
    unavailable = true;
    const abort = new AbortController();
    const read = client.getQueue('/', 'orders', abort.signal);
    await until(() => seen.length === 1);
    abort.abort(new Error('leader election lost'));
    await assert.rejects(read, /leader election lost/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(seen.length, 1, 'no retry after the abort');
    unavailable = false;
  });

  it('sends nothing once the signal has aborted', async () => {
    seen.length = 0;
    await assert.rejects(client.deletePolicy('/', 'ha', AbortSignal.abort()));
    assert.deepEqual(seen, []);
  });
});

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (check() ? resolve() : setTimeout(poll, 2));
    poll();
  });
}
