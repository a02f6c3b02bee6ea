import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { Dispatcher } from 'undici';
import { ApiError, KubeClient } from './kube-client.ts';
import type { RequestOptionsOf } from './kube-client.ts';
import { LeadershipLostError } from './fence.ts';
import { LeaderElector, canAcquire, microTime } from './leader-election.ts';
import type { Lease } from './leader-election.ts';
import { createLogger } from './logger.ts';

describe('Leader lease acquisition', () => {
  it('takes a lease nobody holds, or one it holds itself', () => {
    assert.equal(canAcquire(undefined, 'me', 0, 0), true);
    assert.equal(canAcquire({ holderIdentity: '' }, 'me', 0, 0), true);
    assert.equal(canAcquire({ holderIdentity: 'me', leaseDurationSeconds: 15 }, 'me', 0, 1), true);
  });

  it('waits a full lease duration after it last saw the holder renew', () => {
    const spec = { holderIdentity: 'other', leaseDurationSeconds: 15 };
    assert.equal(canAcquire(spec, 'me', 1000, 15_999), false);
    assert.equal(canAcquire(spec, 'me', 1000, 16_000), true);
  });

  it('writes MicroTime with six fractional digits', () => {
    assert.equal(microTime(new Date('2026-01-01T00:00:00.123Z')), '2026-01-01T00:00:00.123000Z');
  });
});

/** A Lease API in memory. `stall()` makes every later request hang until its signal aborts, as a dead connection does. */
class FakeLeases extends KubeClient {
  lease: Lease | undefined;
  stalled = false;
  /** Requests as sent: method, mocked time, deadline given, and the signal that cuts them off. */
  readonly requests: { method: string; at: number; timeoutMs: number | undefined; signal?: AbortSignal }[] =
    [];
  private version = 0;

  constructor() {
    super({
      server: 'https://fake.invalid',
      namespace: 'ns',
      authentication: 'kubeconfig',
      applyToHTTPSOptions: () => Promise.resolve(),
    });
  }

  stall(): void {
    this.stalled = true;
  }

  override request<T>(
    method: Dispatcher.HttpMethod,
    _path: string,
    options: RequestOptionsOf = {},
  ): Promise<T> {
    this.requests.push({ method, at: Date.now(), timeoutMs: options.timeoutMs, signal: options.signal });
    if (this.stalled) {
      return new Promise((_resolve, reject) => {
        options.signal?.addEventListener('abort', () => reject(new ApiError(0, 'Aborted', 'aborted')));
      });
    }
    const body = options.body as Lease | undefined;
    switch (method) {
      case 'GET':
        return this.lease
          ? Promise.resolve(structuredClone(this.lease) as T)
          : Promise.reject(new ApiError(404, 'NotFound', 'not found'));
      case 'POST':
      case 'PUT': {
        if (method === 'PUT' && body?.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) {
          return Promise.reject(new ApiError(409, 'Conflict', 'conflict'));
        }
        this.version += 1;
        this.lease = {
          ...structuredClone(body!),
          metadata: { ...body!.metadata, resourceVersion: String(this.version) },
        };
        return Promise.resolve(structuredClone(this.lease) as T);
      }
      default:
        return Promise.reject(new ApiError(405, 'MethodNotAllowed', method));
    }
  }

  writes(since = 0): number {
    return this.requests.filter((r) => r.method === 'PUT' && r.at >= since).length;
  }
}

const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/**
 * The elector's monotonic clock: the mocked Date.now() plus `starved`, time that passed while no timer could
 * fire (a process descheduled or an event loop blocked). `starve(ms)` moves it on without running a timer.
 */
const monotonic = {
  starved: 0,
  now: () => Date.now() + monotonic.starved,
  starve(ms: number) {
    this.starved += ms;
  },
};

function elector(client: FakeLeases, events: string[]) {
  return new LeaderElector({
    client,
    namespace: 'ns',
    name: 'warren',
    identity: 'me',
    ...timings,
    clock: monotonic.now,
    logger: createLogger({ level: 'silent' }),
    onStartedLeading: () => events.push(`leading at ${Date.now()}`),
    onStoppedLeading: () => events.push(`lost at ${Date.now()}`),
  });
}

/** Moves the fake clock on in small steps, letting promises and (real) I/O callbacks run in between. */
async function advance(ms: number, step = 50): Promise<void> {
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  await settle();
  for (let done = 0; done < ms; done += step) {
    mock.timers.tick(Math.min(step, ms - done));
    await settle();
  }
}

describe('Leader election timings', () => {
  it('refuse a lease duration a leader could outlive before it notices a failed renew', () => {
    const options = {
      client: new FakeLeases(),
      namespace: 'ns',
      name: 'warren',
      identity: 'me',
      logger: createLogger({ level: 'silent' }),
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    };
    assert.throws(
      () =>
        new LeaderElector({
          ...options,
          leaseDurationMs: 12_000,
          renewDeadlineMs: 10_000,
          retryPeriodMs: 2_000,
        }),
      /renew deadline plus the retry period/,
    );
    assert.ok(new LeaderElector({ ...options, ...timings }));
  });
});

describe('Leader lease renewal on a fake clock', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    monotonic.starved = 0;
  });
  afterEach(() => mock.timers.reset());

  it('renews every retry period, each attempt bounded by the renew deadline', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(100);
    assert.deepEqual(events, ['leading at 1000000']);
    assert.equal(client.lease?.spec?.holderIdentity, 'me');
    await advance(10_000);
    assert.equal(client.writes(), 5, 'one renew per retry period');
    for (const r of client.requests) {
      assert.ok(
        r.timeoutMs !== undefined && r.timeoutMs <= timings.renewDeadlineMs,
        `timeoutMs ${r.timeoutMs}`,
      );
      assert.ok(r.signal, 'every request can be cut off');
    }
    await e.release();
  });

  it('abandons a hung renew at the renew deadline and reports the loss within renew deadline + retry period', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(4_100);
    const lastRenewSent = client.requests.at(-1)!.at;
    client.stall();
    await advance(timings.renewDeadlineMs + timings.retryPeriodMs + 1_000);

    const lost = events.find((line) => line.startsWith('lost at '));
    assert.ok(lost, 'leadership was reported lost');
    const lostAfter = Number(lost.slice('lost at '.length)) - lastRenewSent;
    assert.ok(
      lostAfter <= timings.renewDeadlineMs + timings.retryPeriodMs,
      `lost ${lostAfter} ms after the last successful renew was sent`,
    );
    assert.ok(lostAfter < timings.leaseDurationMs, 'before a standby may take the Lease');
    assert.equal(e.isLeader, false);
    const hung = client.requests.filter((r) => r.at > lastRenewSent);
    assert.ok(hung.length > 0);
    assert.ok(
      hung.every((r) => r.signal?.aborted),
      'every hung attempt was cut off',
    );
    const deadline = lastRenewSent + timings.retryPeriodMs + timings.renewDeadlineMs;
    assert.ok(
      hung.every((r) => r.at + r.timeoutMs! <= deadline),
      'no attempt may outlive the renew deadline',
    );
  });

  it('gives up on a renew whose client ignores the signal', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(2_100);
    const lastRenewSent = client.requests.at(-1)!.at;
    // Hangs even when aborted: the elector must not wait for it.
    client.request = () => new Promise(() => undefined);
    await advance(timings.renewDeadlineMs + timings.retryPeriodMs + 500);
    const lost = events.find((line) => line.startsWith('lost at '));
    assert.ok(lost, 'leadership was reported lost');
    assert.ok(
      Number(lost.slice('lost at '.length)) - lastRenewSent <=
        timings.renewDeadlineMs + timings.retryPeriodMs,
    );
  });

  it('keeps leading through failed renews that succeed again before the deadline', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(2_100);
    // The renew at 4 s hangs until it is cut off at 9 s; the one after it goes through.
    client.stall();
    await advance(5_000);
    client.stalled = false;
    await advance(8_000);
    assert.deepEqual(events, ['leading at 1000000']);
    assert.equal(e.isLeader, true);
    await e.release();
  });

  it('does not release a Lease it lost', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(2_100);
    client.stall();
    await advance(15_000);
    assert.equal(e.isLeader, false);
    client.stalled = false;
    const before = client.requests.length;
    await e.release();
    assert.equal(client.requests.length, before, 'no write after the loss');
    assert.equal(client.lease?.spec?.holderIdentity, 'me');
  });

  it('releases the Lease it holds on shutdown, even with a renew in flight', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(2_100);
    client.stall();
    await advance(2_100);
    client.stalled = false;
    await e.release();
    assert.equal(client.lease?.spec?.holderIdentity, undefined);
    assert.equal(client.lease?.spec?.leaseDurationSeconds, 1);
    assert.deepEqual(events, ['leading at 1000000'], 'a release is not a loss');
  });
});

describe('The write fence on a fake clock', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    monotonic.starved = 0;
  });
  afterEach(() => mock.timers.reset());

  const refused = (e: LeaderElector) => {
    try {
      e.assertValid();
      return undefined;
    } catch (err) {
      assert.ok(err instanceof LeadershipLostError, String(err));
      return err.message;
    }
  };

  it('refuses every write before the Lease is won', async () => {
    const client = new FakeLeases();
    // Someone else holds it and keeps it fresh.
    client.lease = {
      metadata: { name: 'warren', namespace: 'ns', resourceVersion: '1' },
      spec: { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: microTime(new Date()) },
    };
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(1_000);
    assert.match(refused(e) ?? '', /does not hold the leader Lease/);
    assert.deepEqual(events, [], 'a standby loses nothing');
    await e.release();
  });

  it('lets writes through while the last renew was sent less than the renew deadline ago', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(100);
    for (let i = 0; i < 20; i++) {
      assert.equal(refused(e), undefined);
      await advance(1_000);
    }
    assert.deepEqual(events, ['leading at 1000000']);
    await e.release();
  });

  it('refuses a write in a process that was starved past the renew deadline, and that refusal is the loss', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(2_100);
    const lastRenewSent = client.requests.at(-1)!.at;
    const renewsBefore = client.writes();
    // 18.3 s pass with no timer firing: the renew loop never got to run.
    monotonic.starve(18_300);
    const message = refused(e);
    assert.match(message ?? '', /last renewed 18\d{3} ms ago, past the renew deadline of 10000 ms/);
    assert.equal(events.length, 2, 'the loss is reported at once, by the write that found it');
    assert.equal(events[1], `lost at ${lastRenewSent + 100}`);
    assert.equal(e.isLeader, false);
    // The renew loop wakes up afterwards: it writes nothing more, and the fence stays shut.
    await advance(5_000);
    assert.equal(client.writes(), renewsBefore, 'no renew after the loss');
    assert.match(refused(e) ?? '', /lost the leader Lease/);
    assert.equal(events.length, 2, 'reported once');
    await e.release();
    assert.equal(client.writes(), renewsBefore, 'a lost Lease is not released');
  });

  it('closes at the renew deadline counted from when the renew was sent, not answered', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(2_100);
    // Renews now take 4 s to be answered.
    const answer = client.request.bind(client);
    const sentAt: number[] = [];
    client.request = <T>(method: Dispatcher.HttpMethod, path: string, options?: RequestOptionsOf) => {
      sentAt.push(Date.now());
      return new Promise<T>((resolve, reject) =>
        setTimeout(() => void answer<T>(method, path, options).then(resolve, reject), 4_000),
      );
    };
    await advance(2_000); // the renew at 4 s is sent
    const [sent] = sentAt;
    assert.ok(sent !== undefined);
    await advance(4_100); // and answered at 8 s
    assert.equal(e.isLeader, true);
    // No timer runs from here on: only what the last success claimed is left.
    const left = sent + timings.renewDeadlineMs - Date.now();
    monotonic.starve(left - 1);
    assert.equal(refused(e), undefined, 'open 1 ms before the deadline');
    monotonic.starve(1);
    assert.match(refused(e) ?? '', /past the renew deadline/, 'shut at the deadline');
    await e.release();
  });

  it('ignores a renew answered after a write found the deadline passed', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(2_100);
    // The next renew is held unanswered, then the process starves past the deadline and a write comes first.
    let release: () => void = () => undefined;
    const answer = client.request.bind(client);
    client.request = <T>(method: Dispatcher.HttpMethod, path: string, options?: RequestOptionsOf) =>
      new Promise<T>((resolve, reject) => {
        release = () => void answer<T>(method, path, options).then(resolve, reject);
      });
    await advance(2_000);
    monotonic.starve(12_000);
    assert.ok(refused(e));
    release();
    await advance(100);
    assert.equal(e.isLeader, false);
    assert.match(refused(e) ?? '', /lost the leader Lease/);
    assert.equal(events.filter((line) => line.startsWith('lost')).length, 1);
  });

  it('does not release a Lease whose time ran out while it shut down', async () => {
    const client = new FakeLeases();
    const events: string[] = [];
    const e = elector(client, events);
    e.start();
    await advance(2_100);
    monotonic.starve(11_000);
    const before = client.writes();
    await e.release();
    assert.equal(client.writes(), before, 'nothing written');
    assert.equal(client.lease?.spec?.holderIdentity, 'me');
    assert.equal(events.filter((line) => line.startsWith('lost')).length, 1, 'reported as a loss');
  });
});
