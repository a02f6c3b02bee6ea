// The write fence reaches the management API: a write it refuses is never sent, a retry is checked afresh,
// and reads pass.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ManagementClient } from './client.ts';

class Refused extends Error {}

describe('Management client with a write fence', () => {
  const seen: string[] = [];
  /** Answers 503 to this many requests, then 204. */
  let failing = 0;
  const server = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    if (failing > 0) {
      failing -= 1;
      res.writeHead(503).end();
      return;
    }
    if (req.method === 'GET') res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    else res.writeHead(204).end();
  });
  let open = true;
  let checks = 0;
  const fence = {
    assertValid() {
      checks += 1;
      if (!open) throw new Refused('write refused: this process lost the leader Lease');
    },
  };
  let client: ManagementClient;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    client = new ManagementClient(
      { url: `http://127.0.0.1:${port}`, username: 'guest', password: 'guest' },
      { retries: 3, retryMinDelayMs: 100, retryMaxDelayMs: 100, writeFence: fence },
    );
  });
  after(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends a write the fence lets through', async () => {
    seen.length = 0;
    open = true;
    await client.putVhost('tenant', {});
    assert.deepEqual(seen, ['PUT /api/vhosts/tenant']);
  });

  it('never sends a write the fence refuses, and throws the fence error as it is', async () => {
    seen.length = 0;
    open = false;
    await assert.rejects(
      client.putQueue('/', 'orders', { durable: true, auto_delete: false, arguments: {} }),
      Refused,
    );
    await assert.rejects(client.deleteVhost('tenant'), Refused);
    await assert.rejects(client.request('POST', '/api/definitions', {}), Refused);
    assert.deepEqual(seen, [], 'nothing reached the broker');
  });

  it('lets reads through a closed fence', async () => {
    seen.length = 0;
    open = false;
    checks = 0;
    await client.listVhosts();
    assert.equal(checks, 0);
    assert.equal(seen.length, 1);
    assert.match(seen[0] ?? '', /^GET \/api\/vhosts/);
  });

  it('checks again before each retry: a fence that closes during the backoff stops the write', async () => {
    seen.length = 0;
    open = true;
    failing = 1;
    checks = 0;
    const write = client.putVhost('tenant', {});
    // Closes while the first attempt's 503 is being backed off.
    await new Promise((resolve) => setTimeout(resolve, 50));
    open = false;
    await assert.rejects(write, Refused);
    assert.deepEqual(seen, ['PUT /api/vhosts/tenant'], 'the retry was not sent');
    assert.equal(checks, 2);
  });
});
