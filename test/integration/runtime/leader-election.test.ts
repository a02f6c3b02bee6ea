import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { coreResources } from '../../../src/runtime/resource.ts';
import { RECONCILED_BY, TEST_LABEL } from './test-controller.ts';
import type { ConfigMap } from './test-controller.ts';
import { failOnUnhandled, useApi } from './support.ts';
import { createNamespace, eventually } from '../../env/shared.ts';
import type { Api } from './support.ts';

failOnUnhandled();

const FIXTURE = new URL('./fixture-operator.ts', import.meta.url).pathname;

interface Operator {
  identity: string;
  child: ChildProcess;
  lines: { msg?: string; level?: string; at: number }[];
  exit: Promise<number | null>;
}

describe('Two operator processes with leader election', () => {
  let api: Api;
  let namespace: string;
  const operators: Operator[] = [];

  before(async () => {
    api = await useApi();
    namespace = await createNamespace('runtime-leader', api.kubeConfig);
  });

  after(async () => {
    for (const op of operators) if (op.child.exitCode === null) op.child.kill('SIGKILL');
    await api.client.delete(coreResources.namespace, { namespace: '', name: namespace });
    await api.close();
  });

  function launch(identity: string): Operator {
    const child = spawn(process.execPath, [FIXTURE], {
      env: {
        ...process.env,
        KUBECONFIG: api.kubeconfigPath,
        WATCH_NAMESPACES: namespace,
        LEADER_ELECT: 'true',
        LEADER_ELECTION_ID: 'runtime-test-leader',
        LEADER_ELECTION_NAMESPACE: namespace,
        POD_NAME: identity,
        METRICS_BIND_ADDRESS: '0',
        HEALTH_PROBE_BIND_ADDRESS: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: Operator['lines'] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        lines.push({ ...(JSON.parse(line) as { msg?: string; level?: string }), at: Date.now() });
      } catch {
        lines.push({ msg: line, at: Date.now() });
      }
    });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const op = { identity, child, lines, exit };
    operators.push(op);
    return op;
  }

  const ledAfter = (op: Operator, since: number) =>
    (op.lines.find((l) => l.msg === 'became leader')?.at ?? NaN) - since;
  const leads = (op: Operator) => op.lines.some((l) => l.msg === 'became leader');
  const reconciles = (op: Operator) => op.lines.filter((l) => l.msg === 'reconciled').length;
  const annotation = async (name: string) =>
    (await api.client.get<ConfigMap>(coreResources.configMap, { namespace, name }))?.metadata.annotations?.[
      RECONCILED_BY
    ];
  const create = (name: string) =>
    api.client.create(coreResources.configMap, {
      metadata: { name, namespace, labels: { [TEST_LABEL]: 'yes' } },
      data: { value: name },
    });

  /** Creates an object and resolves with ms from `since` until `op` reconciled it. */
  async function takeOver(op: Operator, since: number, name: string): Promise<number> {
    await create(name);
    await eventually(
      `${op.identity} reconciles ${name}`,
      async () => (await annotation(name)) === op.identity,
      { timeoutMs: 30_000 },
    );
    return Date.now() - since;
  }

  it('lets exactly one process reconcile, and hands over after kill -9 and after SIGTERM', async () => {
    const a = launch('operator-a');
    const b = launch('operator-b');
    await eventually('one of them leads', () => leads(a) || leads(b));
    const [leader, standby] = leads(a) ? [a, b] : [b, a];

    for (const name of ['one', 'two', 'three']) await create(name);
    for (const name of ['one', 'two', 'three']) {
      await eventually(
        `${name} is reconciled by the leader`,
        async () => (await annotation(name)) === leader.identity,
      );
    }
    assert.equal(leads(standby), false);
    assert.equal(reconciles(standby), 0, 'the standby reconciles nothing');

    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    const afterKill = await takeOver(standby, killedAt, 'after-kill');
    console.log(
      `failover after kill -9: leads after ${ledAfter(standby, killedAt)} ms, reconciles after ${afterKill} ms`,
    );
    assert.ok(afterKill < 20_000, `took ${afterKill} ms`);

    const c = launch('operator-c');
    await eventually('the new process is up as a standby', () =>
      c.lines.some((l) => l.msg === 'waiting to become leader'),
    );
    const termAt = Date.now();
    standby.child.kill('SIGTERM');
    const afterTerm = await takeOver(c, termAt, 'after-term');
    console.log(
      `failover after SIGTERM: leads after ${ledAfter(c, termAt)} ms, reconciles after ${afterTerm} ms`,
    );
    assert.ok(afterTerm < 3_000, `took ${afterTerm} ms`);
    assert.equal(await standby.exit, 0, 'a terminated leader exits cleanly');

    c.child.kill('SIGTERM');
    assert.equal(await c.exit, 0);
    for (const op of [standby, c]) {
      assert.deepEqual(
        op.lines.filter((l) => l.level === 'fatal'),
        [],
        `${op.identity} had no unhandled rejection or exception`,
      );
    }
  });
});
