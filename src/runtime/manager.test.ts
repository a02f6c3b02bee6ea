import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadSettings } from '../settings.ts';
import type { ReconcileContext } from './controller.ts';
import type { Lease } from './leader-election.ts';
import { createLogger } from './logger.ts';
import { LeadershipLostError } from './fence.ts';
import { Manager, exitCodeOf } from './manager.ts';
import { coreResources } from './resource.ts';
import type { KubeObject } from './resource.ts';
import { FakeApiServer } from './testing.ts';

const configMaps = '/api/v1/namespaces/ns/configmaps';
const leases = '/apis/coordination.k8s.io/v1/namespaces/ns/leases';
const timings = { leaseMs: 3_000, renewDeadlineMs: 1_000, retryPeriodMs: 200 };

interface Reconcile {
  name: string;
  signal: AbortSignal;
  startedAt: number;
  endedAt?: number;
  /** Whether its signal had aborted by the time it ended. */
  abortedAtEnd?: boolean;
  error?: unknown;
}

/** A Manager with one controller on the fake server; `work` is what each reconcile does. */
async function operator(
  api: FakeApiServer,
  work: (name: string, ctx: ReconcileContext, manager: Manager) => Promise<void>,
  env: Record<string, string> = {},
) {
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as { level: string; msg: string }) },
  });
  const settings = loadSettings(
    {
      WATCH_NAMESPACES: 'ns',
      LEADER_ELECT: 'true',
      LEADER_ELECTION_ID: 'warren',
      LEADER_ELECTION_NAMESPACE: 'ns',
      LEASE_DURATION: `${timings.leaseMs}ms`,
      RENEW_DEADLINE: `${timings.renewDeadlineMs}ms`,
      RETRY_PERIOD: `${timings.retryPeriodMs}ms`,
      GRACEFUL_SHUTDOWN_TIMEOUT: '30s',
      METRICS_BIND_ADDRESS: '0',
      HEALTH_PROBE_BIND_ADDRESS: '0',
      POD_NAME: 'operator-a',
      ...env,
    },
    [],
  );
  const manager = new Manager({ apiServer: await api.start(), settings, logger });
  const reconciles: Reconcile[] = [];
  manager.addController({
    name: 'test',
    resource: coreResources.configMap,
    async reconcile(key, ctx) {
      const record: Reconcile = { name: key.name, signal: ctx.signal, startedAt: Date.now() };
      reconciles.push(record);
      try {
        await work(key.name, ctx, manager);
      } catch (error) {
        record.error = error;
        throw error;
      } finally {
        record.endedAt = Date.now();
        record.abortedAtEnd = ctx.signal.aborted;
      }
    },
  });
  return { manager, reconciles, lines };
}

function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting until ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

const holder = (api: FakeApiServer) => {
  const spec = api.get(leases, 'warren')?.spec as Lease['spec'];
  return spec?.holderIdentity;
};
const releases = (api: FakeApiServer) =>
  api.requests.filter(
    (r) => r.method === 'PUT' && r.path.endsWith('/leases/warren') && !(r.body as Lease).spec?.holderIdentity,
  );
const cm = (name: string): KubeObject => ({ metadata: { namespace: 'ns', name } });

describe('Manager', () => {
  let api: FakeApiServer;
  afterEach(() => api.stop());

  it('abandons in-flight reconciles at once when the Lease is lost, and stops without releasing it', async () => {
    api = new FakeApiServer();
    api.put(configMaps, cm('a'));
    // The reconcile writes with its signal; the write never gets an answer.
    api.stall((method, path) => method === 'PATCH' && path.startsWith(configMaps));
    const { manager, reconciles, lines } = await operator(api, async (name, ctx, m) => {
      await m.client
        .withSignal(ctx.signal)
        .mergePatch(coreResources.configMap, { namespace: 'ns', name }, { data: { by: 'a' } });
    });
    await manager.start();
    await until('the reconcile is writing', () => api.hanging.length === 1);
    assert.equal(holder(api), 'operator-a');

    // The API server stops answering Lease requests: renews hang.
    const stalledAt = Date.now();
    api.stall(
      (method, path) => path.startsWith(leases) || (method === 'PATCH' && path.startsWith(configMaps)),
    );
    const outcome = await manager.done;
    const doneAfter = Date.now() - stalledAt;

    assert.equal(outcome, 'leadership-lost');
    assert.equal(exitCodeOf(outcome), 1, 'the process exits non-zero');
    assert.ok(
      doneAfter < timings.renewDeadlineMs + 2 * timings.retryPeriodMs + 1_000,
      `stopped ${doneAfter} ms after the renews began to hang, without waiting for the 30 s grace period`,
    );
    const [reconcile] = reconciles;
    assert.equal(reconcile?.signal.aborted, true, 'the in-flight reconcile was abandoned');
    assert.ok(reconcile.error, 'its write failed instead of finishing');
    const write = api.requests.find((r) => r.method === 'PATCH');
    assert.ok(write?.cutOffAt !== undefined, 'the write in flight was cut off');
    assert.deepEqual(releases(api), [], 'a lost Lease is not released');
    assert.equal(holder(api), 'operator-a');
    assert.ok(
      lines.some((l) => l.level === 'error' && /leader election lost/.test(l.msg)),
      'the loss is logged at error level',
    );
    assert.equal(reconciles.length, 1, 'no reconcile started after the loss');
  });

  it('refuses the write of a reconcile whose event loop was blocked past the renew deadline, and stops', async () => {
    api = new FakeApiServer();
    api.put(configMaps, cm('a'));
    let refusal: unknown;
    const { manager, reconciles } = await operator(api, async (name, ctx, m) => {
      // No timer can fire while the event loop is blocked: the renew loop cannot notice anything.
      const until = performance.now() + timings.renewDeadlineMs + 300;
      while (performance.now() < until);
      try {
        await m.client
          .withSignal(ctx.signal)
          .mergePatch(coreResources.configMap, { namespace: 'ns', name }, { data: { by: 'a' } });
      } catch (err) {
        refusal = err;
        throw err;
      }
    });
    await manager.start();
    assert.equal(await manager.done, 'leadership-lost');
    assert.ok(refusal instanceof LeadershipLostError, `refused by the fence: ${String(refusal)}`);
    assert.match(refusal.message, /past the renew deadline/);
    assert.deepEqual(
      api.requests.filter((r) => r.method === 'PATCH'),
      [],
      'the write never reached the API server',
    );
    assert.deepEqual(releases(api), [], 'a spent Lease is not released');
    assert.equal(reconciles.length, 1);
    assert.throws(() => manager.leadership.assertValid(), LeadershipLostError);
  });

  it('lets writes through without leader election, and only while leading with it', async () => {
    api = new FakeApiServer();
    const { manager } = await operator(api, () => Promise.resolve(), { LEADER_ELECT: 'false' });
    manager.leadership.assertValid();
    await manager.start();
    manager.leadership.assertValid();
    await manager.stop();

    const other = new FakeApiServer();
    const elected = await operator(other, () => Promise.resolve());
    assert.throws(() => elected.manager.leadership.assertValid(), /has not started/);
    await assert.rejects(
      elected.manager.client.create(coreResources.configMap, cm('b')),
      LeadershipLostError,
      'a write before the Lease is won is refused',
    );
    await elected.manager.start();
    await until('leading', () => elected.manager.isLeader);
    elected.manager.leadership.assertValid();
    await elected.manager.client.create(coreResources.configMap, cm('b'));
    await elected.manager.stop();
    assert.throws(() => elected.manager.leadership.assertValid(), LeadershipLostError, 'not after release');
    await other.stop();
  });

  it('on stop, lets in-flight reconciles finish, then releases the Lease', async () => {
    api = new FakeApiServer();
    api.put(configMaps, cm('a'));
    let finish: () => void = () => undefined;
    const { manager, reconciles } = await operator(
      api,
      () => new Promise<void>((resolve) => (finish = resolve)),
    );
    await manager.start();
    await until('the reconcile runs', () => reconciles.length === 1);

    const stopping = manager.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(releases(api), [], 'the Lease is kept while a reconcile runs');
    finish();
    await stopping;

    assert.equal(await manager.done, 'stopped');
    assert.equal(exitCodeOf('stopped'), 0);
    const [reconcile] = reconciles;
    assert.equal(reconcile?.abortedAtEnd, false, 'it finished within the grace period');
    const [release] = releases(api);
    assert.ok(release, 'the Lease was released');
    assert.ok(release.at >= reconcile.endedAt!, 'after the reconcile finished');
    assert.equal(holder(api), undefined);
  });

  it('on stop, abandons reconciles still running after the grace period, then releases the Lease', async () => {
    api = new FakeApiServer();
    api.put(configMaps, cm('a'));
    const { manager, reconciles } = await operator(
      api,
      (_name, ctx) =>
        new Promise<void>((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)),
        ),
      { GRACEFUL_SHUTDOWN_TIMEOUT: '300ms' },
    );
    await manager.start();
    await until('the reconcile runs', () => reconciles.length === 1);
    const stoppedAt = Date.now();
    await manager.stop();
    assert.equal(await manager.done, 'stopped');
    const [reconcile] = reconciles;
    assert.equal(reconcile?.abortedAtEnd, true);
    const [release] = releases(api);
    assert.ok(release && release.at - stoppedAt >= 300, 'released after the grace period');
    assert.ok(release.at >= reconcile.endedAt!, 'once the abandoned reconcile had stopped');
  });
});
