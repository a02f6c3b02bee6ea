// Never two leaders writing at once: the leader's connection to the API server goes silent (its renews hang),
// and it must stop writing and exit before the standby takes the Lease and starts writing. And a leader that
// does not run at all for longer than the lease (SIGSTOP: CPU starvation at its worst, when no timer fires)
// must write nothing when it runs again: its writes are fenced by the renew deadline on a monotonic clock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { coreResources } from '../../../src/runtime/resource.ts';
import { createNamespace, eventually } from '../../env/shared.ts';
import { StallProxy } from './stall-proxy.ts';
import { RECONCILED_BY, TEST_LABEL } from './test-controller.ts';
import type { ConfigMap } from './test-controller.ts';
import { failOnUnhandled, useApi } from './support.ts';
import type { Api } from './support.ts';

failOnUnhandled();

const FIXTURE = new URL('./fixture-operator.ts', import.meta.url).pathname;
// The operator's defaults, as deployed.
const RENEW_DEADLINE_MS = 10_000;
const RETRY_PERIOD_MS = 2_000;

interface Line {
  msg?: string;
  level?: string;
  /** The message of a logged error. */
  err?: string;
  /** The operator's own timestamp of the line. */
  at: number;
}

interface Operator {
  identity: string;
  child: ChildProcess;
  lines: Line[];
  exit: Promise<{ code: number | null; at: number }>;
}

describe('A leader whose API server connection stalls', () => {
  let api: Api;
  let namespace: string;
  let proxy: StallProxy | undefined;
  let dir: string;
  const operators: Operator[] = [];

  before(async () => {
    api = await useApi();
    namespace = await createNamespace('runtime-stall', api.kubeConfig);
    dir = mkdtempSync(join(tmpdir(), 'warren-stall-'));
  });

  after(async () => {
    for (const op of operators) if (op.child.exitCode === null) op.child.kill('SIGKILL');
    await proxy?.close();
    await api.client.delete(coreResources.namespace, { namespace: '', name: namespace });
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The test run's kubeconfig with the API server reached through `port` on 127.0.0.1. */
  function kubeconfigThrough(port: number): string {
    const config = parse(readFileSync(api.kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    for (const { cluster } of config.clusters) {
      const url = new URL(cluster.server);
      url.host = `127.0.0.1:${port}`;
      cluster.server = url.toString().replace(/\/$/, '');
    }
    const path = join(dir, 'through-proxy.kubeconfig');
    writeFileSync(path, stringify(config), { mode: 0o600 });
    return path;
  }

  function launch(
    identity: string,
    kubeconfig: string,
    leaseName = 'runtime-stall-leader',
    env: Record<string, string> = {},
  ): Operator {
    const child = spawn(process.execPath, [FIXTURE], {
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        WATCH_NAMESPACES: namespace,
        LEADER_ELECT: 'true',
        LEADER_ELECTION_ID: leaseName,
        LEADER_ELECTION_NAMESPACE: namespace,
        POD_NAME: identity,
        METRICS_BIND_ADDRESS: '0',
        HEALTH_PROBE_BIND_ADDRESS: '0',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: Line[] = [];
    createInterface({ input: child.stdout }).on('line', (text) => {
      try {
        const line = JSON.parse(text) as {
          msg?: string;
          level?: string;
          time?: string;
          err?: { message?: string };
        };
        lines.push({
          msg: line.msg,
          level: line.level,
          err: line.err?.message,
          at: line.time ? Date.parse(line.time) : Date.now(),
        });
      } catch {
        lines.push({ msg: text, at: Date.now() });
      }
    });
    const exit = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.on('exit', (code) => resolve({ code, at: Date.now() })),
    );
    const op = { identity, child, lines, exit };
    operators.push(op);
    return op;
  }

  const first = (op: Operator, msg: string | RegExp) =>
    op.lines.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg ?? '')))?.at;
  const last = (op: Operator, msg: string) => op.lines.findLast((l) => l.msg === msg)?.at;
  const count = (op: Operator, msg: string) => op.lines.filter((l) => l.msg === msg).length;
  const annotation = async (name: string) =>
    (await api.client.get<ConfigMap>(coreResources.configMap, { namespace, name }))?.metadata.annotations?.[
      RECONCILED_BY
    ];

  it('stops writing and exits 1 before the standby takes the Lease and starts writing', async () => {
    const server = new URL(api.apiServer.server);
    const stall = new StallProxy({ host: server.hostname, port: Number(server.port || 443) });
    proxy = stall;
    const a = launch('operator-a', kubeconfigThrough(await stall.start()));
    await eventually('operator-a leads', () => first(a, 'became leader') !== undefined, {
      timeoutMs: 30_000,
    });
    const b = launch('operator-b', api.kubeconfigPath);
    await eventually(
      'operator-b waits as a standby',
      () => first(b, 'waiting to become leader') !== undefined,
    );

    // A steady stream of objects to reconcile: whoever leads writes all the time.
    let created = 0;
    let creating = true;
    const writer = (async () => {
      while (creating) {
        created += 1;
        await api.client.create(coreResources.configMap, {
          metadata: { name: `object-${created}`, namespace, labels: { [TEST_LABEL]: 'yes' } },
        });
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    await eventually('operator-a writes', () => count(a, 'reconciled') >= 3);

    const stalledAt = Date.now();
    stall.stall();
    const aExit = await a.exit;
    await eventually('operator-b writes', () => first(b, 'reconciled') !== undefined, { timeoutMs: 40_000 });
    creating = false;
    await writer;

    const aLost = first(a, /^leader election lost/);
    const aLastWrite = last(a, 'writing');
    const bLeads = first(b, 'became leader');
    const bFirstWrite = first(b, 'writing');
    assert.ok(aLost !== undefined, 'operator-a logged the loss');
    assert.ok(aLastWrite !== undefined && bLeads !== undefined && bFirstWrite !== undefined);
    console.log(
      [
        `renews hang at 0 ms; operator-a: last write attempt ${aLastWrite - stalledAt} ms,`,
        `leader election lost ${aLost - stalledAt} ms, exit ${aExit.code} at ${aExit.at - stalledAt} ms;`,
        `operator-b: leads ${bLeads - stalledAt} ms, first write ${bFirstWrite - stalledAt} ms`,
      ].join(' '),
    );

    assert.equal(aExit.code, 1, 'a leader that lost its Lease exits non-zero');
    assert.ok(
      aLost - stalledAt <= RENEW_DEADLINE_MS + RETRY_PERIOD_MS + 500,
      'the loss comes within renew deadline + retry period of the last renew',
    );
    assert.ok(aExit.at - aLost < 2_000, `exited ${aExit.at - aLost} ms after the loss`);
    assert.ok(aLastWrite < bFirstWrite, 'operator-a wrote nothing once operator-b wrote');
    assert.ok(aExit.at < bLeads, 'operator-a was gone before operator-b took the Lease');
    assert.deepEqual(
      a.lines.filter((l) => l.level === 'fatal'),
      [],
      'no unhandled rejection or exception',
    );

    // Everything created meanwhile is reconciled by the new leader.
    for (let i = 1; i <= created; i += 1) {
      const name = `object-${i}`;
      await eventually(`${name} is reconciled`, async () => (await annotation(name)) !== undefined, {
        timeoutMs: 30_000,
      });
    }
    b.child.kill('SIGTERM');
    assert.equal((await b.exit).code, 0);
  });

  /**
   * starved-a leads and writes, then runs no instruction for longer than the lease: stopped by SIGSTOP (the
   * kernel does not schedule it; on SIGCONT its timers fire first), or with its event loop blocked inside a
   * reconcile just before a write (the write is the first thing it does afterwards, before any timer).
   */
  async function starvedLeader(how: 'sigstop' | 'blocked'): Promise<void> {
    const leaseName = `runtime-starved-${how}`;
    const prefix = `${how}-`;
    // Every write that reaches the API server, in order, as the annotation the watch saw on each change.
    const landed: { name: string; by: string | undefined; at: number }[] = [];
    const watch = await api.client.stream(`/api/v1/namespaces/${namespace}/configmaps`, {
      query: { watch: 'true', labelSelector: TEST_LABEL, allowWatchBookmarks: 'false' },
    });
    const events = createInterface({ input: watch });
    // The watch is cut off at the end.
    events.on('error', () => undefined);
    events.on('line', (text) => {
      const event = JSON.parse(text) as { type: string; object: ConfigMap };
      if (event.type !== 'MODIFIED') return;
      const by = event.object.metadata.annotations?.[RECONCILED_BY];
      if (landed.findLast((w) => w.name === event.object.metadata.name)?.by === by) return;
      landed.push({ name: event.object.metadata.name ?? '', by, at: Date.now() });
    });

    const blocked = `${prefix}block-me`;
    const a = launch(
      'starved-a',
      api.kubeconfigPath,
      leaseName,
      how === 'blocked' ? { BLOCK_EVENT_LOOP_ON: `${blocked}:16000` } : {},
    );
    await eventually('starved-a leads', () => first(a, 'became leader') !== undefined, { timeoutMs: 30_000 });
    const b = launch('starved-b', api.kubeconfigPath, leaseName);
    await eventually('starved-b waits', () => first(b, 'waiting to become leader') !== undefined);

    let created = 0;
    let creating = true;
    const writer = (async () => {
      while (creating) {
        created += 1;
        await api.client.create(coreResources.configMap, {
          metadata: { name: `${prefix}${created}`, namespace, labels: { [TEST_LABEL]: 'yes' } },
        });
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    await eventually('starved-a writes', () => landed.filter((w) => w.by === 'starved-a').length >= 3);

    // Not a single instruction runs in starved-a meanwhile: no renew, no timer, no loss noticed.
    let stoppedAt: number;
    let resumedAt: number;
    if (how === 'sigstop') {
      a.child.kill('SIGSTOP');
      stoppedAt = Date.now();
      await eventually('starved-b writes', () => landed.some((w) => w.by === 'starved-b'), {
        timeoutMs: 40_000,
      });
      // Objects created while starved-a was stopped are waiting in its watch when it runs again.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      resumedAt = Date.now();
      a.child.kill('SIGCONT');
    } else {
      await api.client.create(coreResources.configMap, {
        metadata: { name: blocked, namespace, labels: { [TEST_LABEL]: 'yes' } },
      });
      await eventually('starved-a blocks', () => first(a, 'blocking the event loop') !== undefined);
      stoppedAt = first(a, 'blocking the event loop')!;
      resumedAt = stoppedAt + 16_000;
    }
    const aExit = await a.exit;
    creating = false;
    await writer;
    watch.destroy();

    const bFirst = landed.find((w) => w.by === 'starved-b')!;
    const aAfter = landed.filter((w) => w.by === 'starved-a' && w.at >= bFirst.at);
    const refused = a.lines.filter(
      (l) => /write refused/.test(l.err ?? '') || /write refused/.test(l.msg ?? ''),
    );
    const aLost = first(a, /^lost the leader lease/);
    console.log(
      [
        `starved-a stopped at 0 ms for ${resumedAt - stoppedAt} ms; starved-b leads`,
        `${(first(b, 'became leader') ?? 0) - stoppedAt} ms, first write landed ${bFirst.at - stoppedAt} ms;`,
        `starved-a: loss logged ${aLost === undefined ? 'never' : `${aLost - resumedAt} ms after it resumed`}`,
        `(${a.lines.find((l) => /^lost the leader lease/.test(l.msg ?? ''))?.msg ?? ''}),`,
        `${refused.length} log lines of refused writes, exit ${aExit.code} ${aExit.at - resumedAt} ms after it resumed;`,
        `writes of starved-a that landed after starved-b's first: ${aAfter.length}`,
      ].join(' '),
    );
    assert.deepEqual(aAfter, [], 'starved-a wrote nothing once starved-b wrote');
    if (how === 'blocked') {
      assert.ok(refused.length > 0, 'the write after the block was refused by the fence');
      assert.notEqual(landed.find((w) => w.name === blocked)?.by, 'starved-a');
    }
    assert.equal(aExit.code, 1, 'a leader that lost its Lease exits non-zero');
    assert.ok(aLost !== undefined, 'starved-a logged the loss');
    assert.deepEqual(
      a.lines.filter((l) => l.level === 'fatal'),
      [],
      'no unhandled rejection or exception',
    );
    for (let i = 1; i <= created; i += 1) {
      const name = `${prefix}${i}`;
      await eventually(
        `${name} is reconciled by starved-b`,
        async () => (await annotation(name)) === 'starved-b',
        {
          timeoutMs: 30_000,
        },
      );
    }
    b.child.kill('SIGTERM');
    assert.equal((await b.exit).code, 0);
  }

  it('writes nothing after it was stopped (SIGSTOP) for longer than the lease, and exits 1 when it runs again', () =>
    starvedLeader('sigstop'));

  it('refuses the write it attempts right after its event loop was blocked for longer than the lease', () =>
    starvedLeader('blocked'));
});
