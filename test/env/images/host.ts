// What the image builders run on the host: commands with their output kept for errors, chroots that leave no
// process behind, layer tars and missing Debian packages.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestEnvError } from '../process.ts';

export type Log = (line: string) => void;

/** Child output goes to stderr only with WARREN_IMAGES_VERBOSE=1; otherwise its tail is shown on failure. */
const verbose = process.env.WARREN_IMAGES_VERBOSE === '1';
const TAIL_LINES = 15;

export interface RunOptions {
  /** What the command does, as the subject of "… failed". */
  what: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Turns the command's output into a one-sentence reason, when it recognises one. */
  diagnose?: (output: string) => string | undefined;
}

/** Runs a command to completion; resolves to its stdout, rejects with a TestEnvError naming what failed. */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let combined = '';
    const collect = (chunk: Buffer, isStdout: boolean) => {
      const text = chunk.toString();
      if (isStdout) stdout += text;
      // Enough for a diagnosis without holding a whole apt log.
      combined = (combined + text).slice(-64 * 1024);
      if (verbose) process.stderr.write(text);
    };
    child.stdout.on('data', (chunk: Buffer) => collect(chunk, true));
    child.stderr.on('data', (chunk: Buffer) => collect(chunk, false));
    child.on('error', (err) => {
      reject(new TestEnvError(`${options.what} failed: cannot run ${command} (${err.message}).`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolvePromise(stdout);
        return;
      }
      const reason =
        options.diagnose?.(combined) ?? `${options.what} failed (${signal ?? `exit code ${code}`}).`;
      const tail = combined.trimEnd().split('\n').slice(-TAIL_LINES).join('\n  ');
      reject(new TestEnvError(verbose || !tail ? reason : `${reason} Its last output:\n  ${tail}`));
    });
  });
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new TestEnvError(
      `Building ${what} needs root (debootstrap, chroot and file ownership); run it as root.`,
    );
  }
}

/** Installs the Debian packages whose check fails, with one apt-get update first. */
export async function ensureDebianPackages(
  packages: readonly { name: string; present: () => boolean }[],
  log: Log,
): Promise<void> {
  const missing = packages.filter((pkg) => !pkg.present()).map((pkg) => pkg.name);
  if (missing.length === 0) return;
  requireRoot(`with ${missing.join(', ')} missing`);
  log(`installing ${missing.join(', ')} from Debian`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { what: 'apt-get update', env });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    what: `apt-get install ${missing.join(' ')}`,
    env,
  });
}

export function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export interface ChrootOptions {
  what: string;
  /** uid:gid to run as; root when absent. */
  user?: string;
  env?: Record<string, string>;
  diagnose?: RunOptions['diagnose'];
}

/**
 * Runs a shell script inside root with only the given environment. Daemons that the script starts (a
 * package's postinst starting epmd, say) are stopped afterwards, so nothing of the build keeps running.
 */
export async function chrootScript(root: string, script: string, options: ChrootOptions): Promise<string> {
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...options.env };
  const args = [
    ...(options.user ? [`--userspec=${options.user}`] : []),
    root,
    '/usr/bin/env',
    '-i',
    ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
    '/bin/sh',
    '-ec',
    script,
  ];
  try {
    return await run('chroot', args, { what: options.what, diagnose: options.diagnose });
  } finally {
    await stopProcessesInside(root);
  }
}

/** PIDs of the processes whose root directory is root (started in a chroot there). */
export function processesInside(root: string): number[] {
  const target = resolve(root);
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/root`) === target) pids.push(Number(name));
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return pids;
}

async function stopProcessesInside(root: string): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const pids = processesInside(root);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // Exited meanwhile.
      }
    }
    for (let i = 0; i < 20 && processesInside(root).length > 0; i++) await sleep(100);
  }
  const left = processesInside(root);
  if (left.length > 0) throw new TestEnvError(`processes ${left.join(', ')} still run inside ${root}.`);
}

/** The device nodes that package scripts write to; a container runtime mounts its own /dev over them. */
export async function makeDeviceNodes(root: string): Promise<void> {
  const dev = join(root, 'dev');
  mkdirSync(dev, { recursive: true });
  const nodes: [string, number, number][] = [
    ['null', 1, 3],
    ['zero', 1, 5],
    ['full', 1, 7],
    ['random', 1, 8],
    ['urandom', 1, 9],
    ['tty', 5, 0],
  ];
  for (const [name, major, minor] of nodes) {
    if (existsSync(join(dev, name))) continue;
    await run('mknod', ['-m', '666', join(dev, name), 'c', String(major), String(minor)], {
      what: `creating /dev/${name} in ${root}`,
    });
  }
}

export interface TarOptions {
  /** Patterns relative to the directory, like ./dev/*, left out of the tar. */
  exclude?: readonly string[];
  /** Records every file as owned by root, whoever owns it here. */
  rootOwned?: boolean;
  /** Fixed modification time (seconds since the epoch), so unchanged content gives an unchanged layer. */
  mtime?: number;
}

/** An uncompressed layer tar of everything below dir, sorted, with numeric owners and no atime/ctime. */
export async function tarDirectory(dir: string, out: string, options: TarOptions = {}): Promise<void> {
  await run(
    'tar',
    [
      '--create',
      `--file=${out}`,
      `--directory=${dir}`,
      '--format=posix',
      '--pax-option=delete=atime,delete=ctime',
      '--sort=name',
      '--numeric-owner',
      ...(options.rootOwned ? ['--owner=0', '--group=0'] : []),
      ...(options.mtime === undefined ? [] : [`--mtime=@${options.mtime}`]),
      ...(options.exclude ?? []).map((pattern) => `--exclude=${pattern}`),
      '.',
    ],
    { what: `archiving ${dir}` },
  );
}

export async function extractTar(tar: string, dir: string, members: readonly string[] = []): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await run(
    'tar',
    ['--extract', `--file=${tar}`, `--directory=${dir}`, '--numeric-owner', '--same-permissions', ...members],
    {
      what: `extracting ${tar}`,
    },
  );
}

export function elapsedSeconds(startedMs: number): number {
  return Math.round((Date.now() - startedMs) / 100) / 10;
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
