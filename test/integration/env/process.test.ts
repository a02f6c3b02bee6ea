// Process supervision rules of the test environment: stop by recorded PID (the whole process group), never a
// process that merely reuses the PID, and show the log of a component that dies while we wait for it.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  findRecords,
  isRunning,
  processStartTime,
  recordProcess,
  spawnLogged,
  stopProcess,
  TestEnvError,
  waitUntil,
} from '../../env/process.ts';
import { stopEnvironment } from '../../env/environment.ts';

/** A child of pid, read from /proc (field 4 of stat is the parent PID). */
function childOf(pid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(pid)) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

describe('Process supervision', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-process-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stops a process and the children in its group by the recorded PID', async () => {
    // The shell starts a child that a signal to the shell alone would leave behind.
    const proc = spawnLogged({ name: 'family', command: '/bin/sh', args: ['-c', 'sleep 300 & wait'], dir });
    await waitUntil('the child of the shell', () => Promise.resolve(childOf(proc.pid) !== undefined));
    const childPid = childOf(proc.pid)!;

    await proc.stop();

    assert.equal(isRunning(proc), false);
    assert.equal(isRunning({ pid: childPid, startTime: null }), false);
    assert.deepEqual(findRecords(dir), []);
  });

  it('leaves alone a process whose PID matches a record but whose start time does not', async () => {
    const stranger = {
      name: 'stranger',
      pid: process.pid,
      startTime: 'not-our-start',
      startedAt: 0,
      logPath: null,
    };
    assert.equal(isRunning(stranger), false);
    await stopProcess(stranger);
    assert.equal(isRunning({ pid: process.pid, startTime: processStartTime(process.pid) }), true);
  });

  it('stops recorded extra processes, newest first, with the rest of the environment', async () => {
    const env = mkdtempSync(join(dir, 'env-'));
    const component = spawnLogged({ name: 'component', command: '/bin/sleep', args: ['300'], dir: env });
    const extra = spawnLogged({
      name: 'extra-source',
      command: '/bin/sleep',
      args: ['300'],
      dir: join(dir, 'elsewhere'),
    });
    recordProcess(extra.pid, 'operator', env);

    const stopped = await stopEnvironment(env);

    assert.deepEqual(stopped, [`operator (pid ${extra.pid})`, `component (pid ${component.pid})`]);
    assert.equal(isRunning(component), false);
    assert.equal(isRunning(extra), false);
    await extra.stop();
  });

  it('shows the tail of the log of a process that exits while it is awaited', async () => {
    const proc = spawnLogged({
      name: 'crasher',
      command: '/bin/sh',
      args: ['-c', 'echo "listen tcp 127.0.0.1:1: bind: permission denied" >&2; exit 3'],
      dir,
    });
    await assert.rejects(
      waitUntil('the crasher', () => Promise.resolve(false), { watch: [proc], timeoutMs: 30_000 }),
      (err: unknown) =>
        err instanceof TestEnvError &&
        err.message.includes('crasher exited with code 3') &&
        err.message.includes('bind: permission denied'),
    );
  });
});
