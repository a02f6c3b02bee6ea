import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, KubeClient } from './kube-client.ts';
import { coreResources } from './resource.ts';

/** An API server that answers /fast at once and never answers anything else. */
class StallingServer {
  readonly seen: string[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private readonly server = createServer((req: IncomingMessage, res: ServerResponse) => {
    this.seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    if (req.url?.includes('/fast')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"metadata":{"name":"fast"}}');
      return;
    }
    this.hanging.add(res);
    res.on('close', () => this.hanging.delete(res));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get open(): number {
    return this.hanging.size;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const key = (name: string) => ({ namespace: 'ns', name });

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('the request succeeded');
}

describe('KubeClient deadlines and aborts', () => {
  const server = new StallingServer();
  let url = '';
  const clientFor = () =>
    new KubeClient({
      server: url,
      namespace: 'ns',
      authentication: 'kubeconfig',
      applyToHTTPSOptions: () => Promise.resolve(),
    });

  before(async () => (url = await server.start()));
  after(() => server.stop());

  it('gives up on a request that is not answered within its timeoutMs', async () => {
    const client = clientFor();
    const started = performance.now();
    const err = await rejection(client.get(coreResources.lease, key('hung'), { timeoutMs: 100 }));
    const elapsed = performance.now() - started;
    assert.equal(err.code, 0);
    assert.equal(err.reason, 'ConnectionFailed');
    assert.ok(elapsed >= 90 && elapsed < 2_000, `gave up after ${Math.round(elapsed)} ms`);
    await client.destroy();
  });

  it('cuts off a request in flight when the signal of its view aborts, and sends nothing after', async () => {
    const client = clientFor();
    const abort = new AbortController();
    const view = client.withSignal(abort.signal);
    const inFlight = view.mergePatch(coreResources.configMap, key('hung'), { data: {} });
    await until(() => server.open === 1);
    abort.abort();
    assert.equal((await rejection(inFlight)).reason, 'Aborted');
    await until(() => server.open === 0);

    const before = server.seen.length;
    const late = await rejection(view.create(coreResources.configMap, { metadata: key('fast') }));
    assert.equal(late.reason, 'Aborted');
    assert.equal(server.seen.length, before, 'a request made after the abort never reaches the server');
    // The client the view came from is unaffected.
    assert.equal((await client.get(coreResources.configMap, key('fast')))?.metadata.name, 'fast');
    await client.close();
  });

  it('refuses every request once destroyed, cutting off those in flight', async () => {
    const client = clientFor();
    const inFlight = client.get(coreResources.configMap, key('hung'));
    await until(() => server.open === 1);
    await client.destroy();
    assert.equal((await rejection(inFlight)).code, 0);
    const before = server.seen.length;
    await rejection(client.get(coreResources.configMap, key('fast')));
    assert.equal(server.seen.length, before);
  });
});

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (check() ? resolve() : setTimeout(poll, 2));
    poll();
  });
}
