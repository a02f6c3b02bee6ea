// Never two leaders writing at once: the leader's connection to the API server goes silent (its renews hang),
// and it must stop writing and exit before the standby takes the Lease and starts writing.
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
  let proxy: StallProxy;
  let dir: string;
  const operators: Operator[] = [];

  before(async () => {
    api = await useApi();
    namespace = await createNamespace('runtime-stall', api.kubeConfig);
    dir = mkdtempSync(join(tmpdir(), 'warren-stall-'));
  });

  after(async () => {
    for (const op of operators) if (op.child.exitCode === null) op.child.kill('SIGKILL');
    await proxy.close();
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

  function launch(identity: string, kubeconfig: string): Operator {
    const child = spawn(process.execPath, [FIXTURE], {
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        WATCH_NAMESPACES: namespace,
        LEADER_ELECT: 'true',
        LEADER_ELECTION_ID: 'runtime-stall-leader',
        LEADER_ELECTION_NAMESPACE: namespace,
        POD_NAME: identity,
        METRICS_BIND_ADDRESS: '0',
        HEALTH_PROBE_BIND_ADDRESS: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: Line[] = [];
    createInterface({ input: child.stdout }).on('line', (text) => {
      try {
        const line = JSON.parse(text) as { msg?: string; level?: string; time?: string };
        lines.push({ msg: line.msg, level: line.level, at: line.time ? Date.parse(line.time) : Date.now() });
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
    proxy = new StallProxy({ host: server.hostname, port: Number(server.port || 443) });
    const a = launch('operator-a', kubeconfigThrough(await proxy.start()));
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
    proxy.stall();
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
});
