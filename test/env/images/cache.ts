// The image cache: built archives outside the repository, keyed by the sha256 of what went into them.
//
//   cacheRoot()                      ${WARREN_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/warren-images}
//   inputHash(inputs)                sha256 over named inputs (strings, bytes or file contents), in order
//   fileInputs(root, paths)          the named contents of files below root, sorted by path
//   withLock(name, what, fn)         runs fn while holding <cache>/locks/<name>.lock; waits for another process
//                                    that holds it and takes over a lock whose holder is gone
//   cachedEntry(kind, hash, build)   returns the entry for hash when it is complete, else builds it under the
//                                    kind's lock; an entry is complete once its metadata file exists (and the
//                                    caller's usable() check passes, e.g. its archive is still there)
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning, processStartTime } from '../process.ts';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WARREN_IMAGES_CACHE) return env.WARREN_IMAGES_CACHE;
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'warren-images');
}

export interface HashInput {
  name: string;
  value: string | Buffer;
}

/** Each input is framed by its name and length, so moving bytes from one input to the next changes the hash. */
export function inputHash(inputs: readonly HashInput[]): string {
  const hash = createHash('sha256');
  for (const { name, value } of inputs) {
    const bytes = typeof value === 'string' ? Buffer.from(value) : value;
    hash.update(`${name}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

export function fileInputs(root: string, paths: readonly string[]): HashInput[] {
  return [...paths].sort().map((path) => ({ name: `file:${path}`, value: readFileSync(join(root, path)) }));
}

interface LockRecord {
  pid: number;
  startTime: string | null;
}

const LOCK_POLL_MS = 200;

export async function withLock<T>(
  name: string,
  what: string,
  fn: () => Promise<T>,
  { root = cacheRoot(), log = (_line: string) => {} } = {},
): Promise<T> {
  const dir = join(root, 'locks');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.lock`);
  const mine: LockRecord = { pid: process.pid, startTime: processStartTime(process.pid) };
  let announced = false;
  for (;;) {
    try {
      // O_EXCL: of two processes creating the file at once, exactly one succeeds.
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(mine));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readLock(path);
    // Held by a live process (this one included, for a build under way in it): wait for it to finish.
    if (!holder || !isRunning(holder)) {
      // The holder died without releasing it, or is writing it this instant (then it wins the next round).
      if (holder) rmSync(path, { force: true });
      else await sleep(50);
      continue;
    }
    if (!announced) {
      log(`waiting for the build of ${what} under way in pid ${holder.pid} (lock ${path})`);
      announced = true;
    }
    await sleep(LOCK_POLL_MS);
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}

function readLock(path: string): LockRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as LockRecord;
    return typeof record.pid === 'number' ? record : undefined;
  } catch {
    return undefined;
  }
}

export interface CacheEntry<M> {
  /** Directory that holds the entry's files; the builder writes into it. */
  dir: string;
  metadata: M;
  /** True when this call built the entry. */
  built: boolean;
}

/** How many entries of a kind stay in the cache; older ones (by last use) are removed after a build. */
const KEEP_PER_KIND = 3;

export async function cachedEntry<M>(
  kind: string,
  hash: string,
  build: (dir: string) => Promise<M>,
  {
    root = cacheRoot(),
    log = (_line: string) => {},
    usable = (_dir: string, _metadata: M) => true,
  }: { root?: string; log?: (line: string) => void; usable?: (dir: string, metadata: M) => boolean } = {},
): Promise<CacheEntry<M>> {
  const kindDir = join(root, kind);
  const dir = join(kindDir, hash.slice(0, 32));
  const metadataPath = join(dir, 'metadata.json');
  const complete = (): M | undefined => {
    try {
      const metadata = JSON.parse(readFileSync(metadataPath, 'utf8')) as M;
      if (!usable(dir, metadata)) return undefined;
      const now = new Date();
      // Marks the entry as used, for pruning.
      utimesSync(metadataPath, now, now);
      return metadata;
    } catch {
      return undefined;
    }
  };
  const warm = complete();
  if (warm !== undefined) return { dir, metadata: warm, built: false };
  return withLock(
    kind,
    kind,
    async () => {
      const raced = complete();
      if (raced !== undefined) return { dir, metadata: raced, built: false };
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      let metadata: M;
      try {
        metadata = await build(dir);
      } catch (err) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      writeFileSync(`${metadataPath}.partial`, JSON.stringify(metadata, null, 2) + '\n');
      renameSync(`${metadataPath}.partial`, metadataPath);
      pruneKind(kindDir, dir);
      return { dir, metadata, built: true };
    },
    { root, log },
  );
}

/** Runs under the kind's lock, so an entry without metadata is one whose build was interrupted. */
function pruneKind(kindDir: string, keep: string): void {
  const complete: { dir: string; used: number }[] = [];
  for (const name of readdirSync(kindDir)) {
    const dir = join(kindDir, name);
    if (dir === keep) continue;
    const metadata = join(dir, 'metadata.json');
    if (existsSync(metadata)) complete.push({ dir, used: statSync(metadata).mtimeMs });
    else rmSync(dir, { recursive: true, force: true });
  }
  complete.sort((a, b) => b.used - a.used);
  for (const { dir } of complete.slice(KEEP_PER_KIND - 1)) rmSync(dir, { recursive: true, force: true });
}

/** True when path is a file of exactly that many bytes (a cached archive that is still whole). */
export function fileHasSize(path: string, bytes: number): boolean {
  try {
    return statSync(path).size === bytes;
  } catch {
    return false;
  }
}
