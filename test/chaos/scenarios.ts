// The fault scenarios against the real operator process: a broker outage, a kube-apiserver restart, kill -9 in
// the middle of convergence and of deletion, and leader failover. Each prints what it did and measured and fails
// (Report.finish) when an object stays un-Ready, a finalizer is left behind, a broker object is missing or extra,
// or the operator crashed.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlPlaneHandle } from '../env/control-plane.ts';
import type { RabbitmqHandle } from '../env/rabbitmq.ts';
import {
  apply,
  brokerDifferences,
  converge,
  createFleet,
  describeProgress,
  isReady,
  mix,
  progress,
  readyOf,
  removeAll,
  type Broker,
  type Fleet,
  type Kube,
  type Manifest,
} from './fleet.ts';
import { OperatorProcess } from './operator.ts';
import { Report } from './report.ts';

export interface World {
  kube: Kube;
  kubeconfigPath: string;
  broker: Broker;
  /** Where operator logs go. */
  dir: string;
  /** Present when the suite owns the broker and may stop it. */
  brokerHandle?: RabbitmqHandle;
  /** Present when the suite owns the control plane and may restart its API server. */
  controlPlane?: ControlPlaneHandle;
  /** Environment for a child test run against this world (KUBECONFIG, RABBITMQ_*, WARREN_TESTENV_DIR). */
  testEnv?: Record<string, string>;
}

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

function startOperator(world: World, fleet: Fleet, name: string, env: Record<string, string> = {}) {
  return OperatorProcess.start({
    name,
    dir: world.dir,
    kubeconfigPath: world.kubeconfigPath,
    watchNamespaces: [fleet.namespace],
    env,
  });
}

/** Polls until `check` holds; false when `limitMs` passed first. Errors count as "not yet". */
async function until(check: () => Promise<boolean> | boolean, limitMs: number, intervalMs = 250) {
  const deadline = performance.now() + limitMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

/** Waits for full convergence, measures it from `since`, and records every way it fell short. */
async function convergeAndCheck(
  r: Report,
  world: World,
  fleet: Fleet,
  figure: string,
  options: { since?: number; target?: number; limitMs?: number } = {},
): Promise<void> {
  const since = options.since ?? performance.now();
  const result = await converge(world.kube, fleet, options.limitMs ?? 300_000);
  const seconds = (performance.now() - since) / 1000;
  if (!result.done) {
    r.problem(`${figure}: not converged after ${seconds.toFixed(0)} s: ${describeProgress(result.last)}`);
    return;
  }
  r.measured(figure, seconds, { target: options.target });
  await checkBroker(r, world, fleet);
}

async function checkBroker(r: Report, world: World, fleet: Fleet): Promise<void> {
  const diff = await brokerDifferences(world.kube, fleet);
  r.did(
    `broker holds ${diff.objects} of the fleet's objects; missing ${diff.missing.length}, extra ${diff.extra.length}`,
  );
  if (diff.missing.length > 0) r.problem(`missing on the broker: ${diff.missing.slice(0, 10).join(', ')}`);
  if (diff.extra.length > 0) r.problem(`extra on the broker: ${diff.extra.slice(0, 10).join(', ')}`);
}

/** Deletes the whole fleet (Vhost last), checks that nothing stays Terminating and the broker keeps nothing. */
export async function tearDown(r: Report, world: World, fleet: Fleet): Promise<void> {
  await world.kube.collect(fleet.namespace);
  const all = [...fleet.manifests.values()];
  const started = performance.now();
  await removeAll(
    world.kube,
    fleet,
    all.filter((m) => m.kind !== 'Vhost'),
  );
  const dependants = await converge(world.kube, fleet, 180_000);
  await removeAll(
    world.kube,
    fleet,
    all.filter((m) => m.kind === 'Vhost'),
  );
  const vhost = await converge(world.kube, fleet, 120_000);
  if (!dependants.done || !vhost.done) {
    r.problem(`finalizers left behind after deletion: ${describeProgress(vhost.last ?? dependants.last)}`);
  } else {
    r.measured('every object deleted (finalizers released)', (performance.now() - started) / 1000);
  }
  await checkBroker(r, world, fleet);
  await world.kube.collect(fleet.namespace);
  await world.kube.core.deleteNamespace({ name: fleet.namespace }).catch(() => undefined);
}

function checkCrashes(r: Report, operators: OperatorProcess[]): void {
  for (const op of operators) for (const crash of op.crashes()) r.problem(`operator crashed: ${crash}`);
}

async function stopAll(r: Report, operators: OperatorProcess[]): Promise<void> {
  for (const op of operators) await op.stop();
  checkCrashes(r, operators);
}

/** Waits until `share` of the fleet is Ready (mid-convergence); says how many were. */
async function waitPartly(r: Report, world: World, fleet: Fleet, share: number): Promise<void> {
  let seen = 0;
  await until(async () => {
    const p = await progress(world.kube, fleet);
    seen = p.ready;
    return p.ready >= p.total * share;
  }, 300_000);
  r.did(`${seen} of ${fleet.manifests.size} objects Ready`);
}

// 1 ───────────────────────────────────────────────────────────────────────────────────────────────────────────

export async function brokerOutage(
  world: World,
  options: { objects: number; during: number; outageSeconds: number; targetSeconds: number },
): Promise<void> {
  const r = new Report(
    `Broker stopped for ${options.outageSeconds} s while ${options.objects} objects converge and ` +
      `${options.during} more are created`,
  );
  const broker = world.brokerHandle;
  if (!broker) throw new Error('this scenario needs a broker of its own');
  const fleet = await createFleet(world.kube, uniqueName('chaos-outage'), world.broker);
  const op = await startOperator(world, fleet, 'outage-operator');
  try {
    await apply(world.kube, fleet, mix(0, options.objects, fleet.vhost, fleet.secret));
    r.did(`created ${options.objects} objects`);
    await waitPartly(r, world, fleet, 0.3);

    await broker.stop();
    const stoppedAt = performance.now();
    r.did('stopped the broker');
    const during = mix(options.objects, options.during, fleet.vhost, fleet.secret);
    await apply(world.kube, fleet, during);
    r.did(`created ${options.during} more objects`);

    // Every object created during the outage must say why it is not Ready.
    const reasons = new Map<string, string>();
    while (performance.now() - stoppedAt < options.outageSeconds * 1000) {
      const objects = await world.kube.listAll(fleet.namespace).catch(() => []);
      for (const o of objects) {
        const ready = readyOf(o);
        if (ready?.status === 'False' && ready.reason && ready.message) {
          reasons.set(`${o.kind}/${o.metadata.name}`, ready.reason);
        }
      }
      await sleep(1_000);
    }
    const counts: Record<string, number> = {};
    for (const reason of reasons.values()) counts[reason] = (counts[reason] ?? 0) + 1;
    r.did(`Ready=False reasons seen during the outage: ${JSON.stringify(counts)}`);
    const silent = during.filter((m) => !reasons.has(`${m.kind}/${m.name}`));
    r.expect(
      silent.length === 0,
      `${silent.length} objects created during the outage never said Ready=False with a reason: ` +
        silent
          .slice(0, 5)
          .map((m) => `${m.kind}/${m.name}`)
          .join(', '),
    );
    r.expect(op.running, 'the operator exited during the outage');

    const restarting = performance.now();
    await broker.start();
    const back = performance.now();
    r.did(
      `started the broker after ${((restarting - stoppedAt) / 1000).toFixed(1)} s stopped; it served again ` +
        `${((back - restarting) / 1000).toFixed(1)} s later`,
    );
    await convergeAndCheck(r, world, fleet, 'all converged after the broker returned', {
      since: back,
      target: options.targetSeconds,
    });
    await tearDown(r, world, fleet);
  } finally {
    await stopAll(r, [op]);
  }
  r.finish();
}

// 2 ───────────────────────────────────────────────────────────────────────────────────────────────────────────

export async function apiServerRestart(world: World, options: { objects: number }): Promise<void> {
  const r = new Report(`kube-apiserver restarted while ${options.objects} objects converge`);
  const plane = world.controlPlane;
  if (!plane) throw new Error('this scenario needs a control plane of its own');
  const fleet = await createFleet(world.kube, uniqueName('chaos-apiserver'), world.broker);
  const op = await startOperator(world, fleet, 'apiserver-operator');
  try {
    await apply(world.kube, fleet, mix(0, options.objects, fleet.vhost, fleet.secret));
    r.did(`created ${options.objects} objects`);
    await waitPartly(r, world, fleet, 0.2);
    const connectsBefore = (await op.metric('warren_informer_watch_connects_total')) ?? 0;

    const stoppedAt = performance.now();
    await plane.stopApiServer();
    r.did('stopped kube-apiserver');
    await sleep(10_000);
    await plane.startApiServer();
    const back = performance.now();
    r.did(`kube-apiserver serving again after ${((back - stoppedAt) / 1000).toFixed(1)} s`);

    // Created and deleted after the restart: only recovered watches bring these to the operator.
    const first = [...fleet.manifests.values()].filter((m) => /^[a-z]+-[01](-\d+)?$/.test(m.name));
    await removeAll(world.kube, fleet, first);
    await apply(world.kube, fleet, mix(options.objects, 30, fleet.vhost, fleet.secret), true);
    r.did(`deleted ${first.length} objects and created 30 more`);
    await convergeAndCheck(r, world, fleet, 'all converged after the API server returned', { since: back });
    const connectsAfter = (await op.metric('warren_informer_watch_connects_total')) ?? 0;
    r.did(`watch connects: ${connectsBefore} before the restart, ${connectsAfter} after`);
    r.expect(connectsAfter > connectsBefore, 'the watches never connected again');
    r.expect(op.running, 'the operator process did not survive the restart');
    await tearDown(r, world, fleet);
  } finally {
    await stopAll(r, [op]);
  }
  r.finish();
}

// 3 ───────────────────────────────────────────────────────────────────────────────────────────────────────────

export async function killDuringConvergence(world: World, options: { objects: number }): Promise<void> {
  const r = new Report(
    `kill -9 of the operator mid-convergence and mid-deletion of ${options.objects} objects`,
  );
  const fleet = await createFleet(world.kube, uniqueName('chaos-kill'), world.broker);
  const operators: OperatorProcess[] = [];
  try {
    operators.push(await startOperator(world, fleet, 'kill-operator-1'));
    await apply(world.kube, fleet, mix(0, options.objects, fleet.vhost, fleet.secret));
    r.did(`created ${options.objects} objects`);
    await waitPartly(r, world, fleet, 0.25);
    operators.at(-1)!.kill('SIGKILL');
    await operators.at(-1)!.exited;
    r.did('kill -9 of the operator');
    const restarted = performance.now();
    operators.push(await startOperator(world, fleet, 'kill-operator-2'));
    await convergeAndCheck(r, world, fleet, 'converged after the restart', { since: restarted });

    // Half the deletes, kill -9 while the operator works through them, the other half while it is down.
    const doomed = [...fleet.manifests.values()].filter((m) => m.kind !== 'Vhost');
    const half = Math.ceil(doomed.length / 2);
    await removeAll(world.kube, fleet, doomed.slice(0, half));
    operators.at(-1)!.kill('SIGKILL');
    await operators.at(-1)!.exited;
    const leaving = (await progress(world.kube, fleet)).leaving;
    r.did(`deleted ${half} objects, then kill -9 of the operator with ${leaving} of them still Terminating`);
    await removeAll(world.kube, fleet, doomed.slice(half));
    r.did(`deleted the other ${doomed.length - half} objects while no operator ran`);
    const restartedAgain = performance.now();
    operators.push(await startOperator(world, fleet, 'kill-operator-3'));
    await convergeAndCheck(r, world, fleet, 'deletion finished after the restart', {
      since: restartedAgain,
    });
    await tearDown(r, world, fleet);
  } finally {
    await stopAll(r, operators);
  }
  r.finish();
}

// 4 ───────────────────────────────────────────────────────────────────────────────────────────────────────────

export async function leaderFailover(
  world: World,
  options: { killTarget: number; termTarget: number },
): Promise<void> {
  const r = new Report('Two replicas with leader election: kill -9 and SIGTERM of the leader');
  const fleet = await createFleet(world.kube, uniqueName('chaos-leader'), world.broker);
  const election = {
    LEADER_ELECT: 'true',
    LEADER_ELECTION_ID: 'chaos-leader',
    LEADER_ELECTION_NAMESPACE: fleet.namespace,
  };
  const operators: OperatorProcess[] = [];
  const launch = async (name: string) => {
    const op = await startOperator(world, fleet, name, election);
    operators.push(op);
    return op;
  };
  const leads = (op: OperatorProcess) => op.first('became leader') !== undefined;
  /** Creates a Queue and resolves with the seconds from `since` to it being Ready. */
  const readyAfter = async (name: string, since: number): Promise<number | undefined> => {
    const m: Manifest = {
      kind: 'Queue',
      name,
      spec: {
        name,
        vhost: fleet.vhost,
        rabbitmqClusterReference: { connectionSecret: { name: fleet.secret } },
      },
    };
    await apply(world.kube, fleet, [m]);
    const ok = await until(
      async () => {
        const o = (await world.kube.list(fleet.namespace, 'Queue')).find((q) => q.metadata.name === name);
        return o !== undefined && isReady(o);
      },
      60_000,
      100,
    );
    return ok ? (performance.now() - since) / 1000 : undefined;
  };
  try {
    const a = await launch('replica-a');
    const b = await launch('replica-b');
    await until(() => leads(a) || leads(b), 60_000);
    const [leader, standby] = leads(a) ? [a, b] : [b, a];
    r.did(`${leader.name} leads, ${standby.name} waits`);
    await apply(world.kube, fleet, mix(0, 20, fleet.vhost, fleet.secret));
    await convergeAndCheck(r, world, fleet, 'first 20 objects converged under the first leader');

    const killedAt = performance.now();
    const killedWall = Date.now();
    leader.kill('SIGKILL');
    await leader.exited;
    r.did(`kill -9 of the leader ${leader.name}`);
    const afterKill = await readyAfter('after-kill', killedAt);
    const led = standby.first('became leader', killedWall);
    if (led) r.measured('kill -9: standby became leader after', (led.at - killedWall) / 1000);
    if (afterKill === undefined) r.problem('after kill -9, the standby never reconciled a new object');
    else
      r.measured('kill -9: standby reconciled a new object after', afterKill, { target: options.killTarget });

    const c = await launch('replica-c');
    await until(() => c.first('waiting to become leader') !== undefined, 60_000);
    r.did(`${c.name} waits as the new standby`);
    const termAt = performance.now();
    const termWall = Date.now();
    standby.kill('SIGTERM');
    r.did(`SIGTERM to the leader ${standby.name}`);
    const afterTerm = await readyAfter('after-term', termAt);
    const exit = await standby.exited;
    const cLed = c.first('became leader', termWall);
    if (cLed) r.measured('SIGTERM: new leader elected after', (cLed.at - termWall) / 1000);
    if (afterTerm === undefined) r.problem('after SIGTERM, the standby never reconciled a new object');
    else
      r.measured('SIGTERM: standby reconciled a new object after', afterTerm, { target: options.termTarget });
    r.expect(exit.code === 0, `the terminated leader exited ${exit.code ?? exit.signal}, not 0`);
    // One leader at a time on a clean handover: the old one's last line comes before the new one leads.
    const lastOfOld = standby.lines.at(-1)?.at ?? 0;
    const released = standby.first('released the leader lease');
    r.did(
      `old leader: released the lease ${released ? `${released.at - termWall} ms` : 'never'}, exited ` +
        `${exit.at - termWall} ms after SIGTERM; new leader leads ${cLed ? `${cLed.at - termWall} ms` : 'never'}`,
    );
    r.expect(
      cLed === undefined || lastOfOld <= cLed.at,
      'the old leader still logged after the new one took over',
    );
    await convergeAndCheck(r, world, fleet, 'all converged under the third replica');
    await tearDown(r, world, fleet);
  } finally {
    await stopAll(r, operators);
  }
  if (world.testEnv) await leaderStall(r, world.testEnv);
  r.finish();
}

/**
 * Never two leaders writing at once: the runtime's stall test (its leader's API connection goes silent, it must
 * stop writing and exit before the standby writes), run here against the suite's control plane.
 */
async function leaderStall(r: Report, env: Record<string, string>): Promise<void> {
  const file = new URL('../integration/runtime/leader-stall.test.ts', import.meta.url).pathname;
  r.did(
    'running test/integration/runtime/leader-stall.test.ts (a stalled leader stops before the standby writes)',
  );
  // Without the parent's NODE_TEST_CONTEXT, the child runs as a test run of its own and reports in text.
  const { NODE_TEST_CONTEXT: _parent, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const figures = output.split('\n').find((l) => l.includes('renews hang at 0 ms'));
  if (figures) r.did(`stall: ${figures.trim()}`);
  r.expect(code === 0, `the leader stall test failed:\n${output.slice(-3000)}`);
}
