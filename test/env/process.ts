// Process supervision for the test environment.
//
//   spawnLogged({ name, command, args, env, dir })  starts a binary by path in its own process group, writes its
//                                                   stdout and stderr to <dir>/<name>.log and its record to
//                                                   <dir>/<name>.pid.json; returns a ManagedProcess.
//   waitUntil(what, check, { timeoutMs, watch })    polls check() until true; fails with the tail of the logs of
//                                                   `watch` when it times out or one of them exits.
//   stopProcess(record)                             SIGTERM to the recorded process group, SIGKILL after a grace
//                                                   period; a record whose PID now belongs to another process
//                                                   (checked by start time) is left alone.
//   recordProcess(pid, name, dir?)                  lets anything started later on a running environment (an
//                                                   operator, a demo) be stopped by `npm run testenv -- down`.
//
// Processes are never found or stopped by name: only by the PID recorded when they were started.
import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What identifies a started process on disk; enough to stop it from another process later. */
export interface ProcessRecord {
  name: string;
  pid: number;
  /** Kernel start time (clock ticks since boot) that tells our process apart from a later one with its PID. */
  startTime: string | null;
  /** Epoch milliseconds; `down` stops the newest first. */
  startedAt: number;
  logPath: string | null;
}

export interface ManagedProcess extends ProcessRecord {
  readonly recordPath: string;
  /** The exit code or signal once the process has exited, undefined while it runs. */
  exitStatus(): string | undefined;
  stop(): Promise<void>;
}

export const PID_FILE_SUFFIX = '.pid.json';
const STOP_GRACE_MS = 10_000;

/** A failure whose message is meant for people as it is: shown without a stack trace by the CLI. */
export class TestEnvError extends Error {
  override name = 'TestEnvError';
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: readonly string[];
  dir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function spawnLogged(options: SpawnOptions): ManagedProcess {
  mkdirSync(options.dir, { recursive: true });
  const logPath = join(options.dir, `${options.name}.log`);
  const recordPath = join(options.dir, `${options.name}${PID_FILE_SUFFIX}`);
  const fd = openSync(logPath, 'a');
  const child = (() => {
    try {
      // detached: its own process group, so stopping it reaches its children too and the process outlives a
      // CLI that returns after `up`.
      return spawn(options.command, options.args, {
        cwd: options.cwd ?? options.dir,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
  })();
  let status: string | undefined;
  child.on('error', (err) => (status = `failed to start: ${err.message}`));
  child.on('exit', (code, signal) => (status = signal ? `killed by ${signal}` : `exited with code ${code}`));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    throw new TestEnvError(`${options.name} could not be started from ${options.command}`);
  }
  const record: ProcessRecord = {
    name: options.name,
    pid,
    startTime: processStartTime(pid),
    startedAt: Date.now(),
    logPath,
  };
  writeFileSync(recordPath, JSON.stringify(record) + '\n');
  return {
    ...record,
    recordPath,
    exitStatus: () => status,
    stop: async () => {
      await stopProcess(record);
      rmSync(recordPath, { force: true });
    },
  };
}

/** /proc/<pid>/stat field 22 (start time); null where /proc is unavailable. */
export function processStartTime(pid: number): string | null {
  const fields = procStatFields(pid);
  return fields?.[19] ?? null;
}

// Fields after the parenthesised command name, which may itself hold spaces: index 0 is field 3 (state).
function procStatFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** True while the recorded process (not merely its PID) still runs. */
export function isRunning(record: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  const fields = procStatFields(record.pid);
  if (fields === null) {
    if (existsSync('/proc/self/stat')) return false;
    try {
      process.kill(record.pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  if (fields[0] === 'Z') return false;
  return record.startTime === null || fields[19] === record.startTime;
}

/** Sends sig to the recorded process (its whole group when it leads one) if it is still the same process. */
export function signalProcess(record: ProcessRecord, sig: NodeJS.Signals): void {
  if (!isRunning(record)) return;
  // A process started by spawnLogged leads its own group; signal the group so its children go too.
  const fields = procStatFields(record.pid);
  const leadsGroup = fields?.[2] === String(record.pid);
  try {
    process.kill(leadsGroup ? -record.pid : record.pid, sig);
  } catch {
    // already gone
  }
}

/**
 * PIDs of the live (not zombie) members of process group pgid, from /proc (field 5 of stat is the group). A
 * member dies a moment after its leader, and an orphaned one may stay a zombie until PID 1 reaps it: neither runs.
 */
export function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = procStatFields(Number(entry));
    if (fields !== null && fields[2] === String(pgid) && fields[0] !== 'Z') members.push(Number(entry));
  }
  return members;
}

/** True while the recorded process runs, or, where it led a group, while any member of that group still does. */
function groupRunning(record: ProcessRecord, leadsGroup: boolean): boolean {
  if (isRunning(record)) return true;
  return leadsGroup && existsSync('/proc/self/stat') && liveGroupMembers(record.pid).length > 0;
}

export async function stopProcess(record: ProcessRecord, graceMs = STOP_GRACE_MS): Promise<void> {
  if (!isRunning(record)) return;
  const leadsGroup = procStatFields(record.pid)?.[2] === String(record.pid);
  signalProcess(record, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupRunning(record, leadsGroup)) return;
    await sleep(50);
  }
  // The leader may be gone already while members linger: signal the group itself, not the record.
  try {
    process.kill(leadsGroup ? -record.pid : record.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  while (groupRunning(record, leadsGroup)) await sleep(50);
}

/** Records an extra process of a running environment so that `npm run testenv -- down` stops it. */
export function recordProcess(pid: number, name: string, dir = defaultEnvDir()): string {
  const extras = join(dir, 'extra');
  mkdirSync(extras, { recursive: true });
  const record: ProcessRecord = {
    name,
    pid,
    startTime: processStartTime(pid),
    startedAt: Date.now(),
    logPath: null,
  };
  const path = join(extras, `${name}-${pid}${PID_FILE_SUFFIX}`);
  writeFileSync(path, JSON.stringify(record) + '\n');
  return path;
}

/** Every process record under dir, newest first (the order to stop them in). */
export function findRecords(dir: string): { path: string; record: ProcessRecord }[] {
  if (!existsSync(dir)) return [];
  const found: { path: string; record: ProcessRecord }[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith(PID_FILE_SUFFIX)) continue;
    const path = join(dir, entry);
    try {
      found.push({ path, record: JSON.parse(readFileSync(path, 'utf8')) as ProcessRecord });
    } catch {
      // a torn or foreign file: nothing we can stop safely
    }
  }
  return found.sort((a, b) => b.record.startedAt - a.record.startedAt);
}

/** The repository's `.testenv/` directory, where `npm run testenv -- up` keeps its state. */
export function defaultEnvDir(): string {
  return process.env.WARREN_TESTENV_HOME ?? join(import.meta.dirname, '..', '..', '.testenv');
}

export function logTail(path: string | null, lines = 40): string {
  if (path === null) return '';
  try {
    const text = readFileSync(path, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function describeFailure(proc: ManagedProcess): string {
  return `--- last lines of ${proc.logPath ?? proc.name} ---\n${logTail(proc.logPath)}\n--- end of ${proc.name} log ---`;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Processes whose exit ends the wait early and whose log tails the error shows. */
  watch?: readonly ManagedProcess[];
}

/** Polls check() until it returns true; a thrown error counts as "not yet". */
export async function waitUntil(what: string, check: () => Promise<boolean>, options: WaitOptions = {}) {
  const { timeoutMs = 60_000, intervalMs = 200, watch = [] } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastError = '';
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    const dead = watch.find((p) => p.exitStatus() !== undefined);
    if (dead) {
      throw new TestEnvError(
        `${dead.name} ${dead.exitStatus() ?? ''} while waiting for ${what}\n${describeFailure(dead)}`,
      );
    }
    if (Date.now() > deadline) {
      const tails = watch.map(describeFailure).join('\n');
      const cause = lastError ? ` (last error: ${lastError})` : '';
      throw new TestEnvError(`timed out after ${timeoutMs / 1000}s waiting for ${what}${cause}\n${tails}`);
    }
    await sleep(intervalMs);
  }
}

/** True when the log of a process that failed to start says its port was taken (worth a retry). */
export function failedOnPortInUse(procs: readonly ManagedProcess[]): boolean {
  return procs.some((p) => /address already in use|eaddrinuse/i.test(logTail(p.logPath, 200)));
}

/** The first executable called name on PATH (or in the sbin directories), or null. */
export function findExecutable(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
