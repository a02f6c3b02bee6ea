// Taking the test node down with nothing left behind: its pods' containers, then its processes, then what they
// leave outside any process (mounts, cgroups, the bridge, kube-proxy's nftables, the kubelet's fixed log
// directories, containerd's shim socket directory, the kernel tunables the kubelet set).
//
// Everything to undo is written to <node dir>/node.json before the node starts anything, so an interrupted
// start, a crashed run or `npm run testenv -- down` from another process all undo the same list. Each step is
// idempotent and tolerates what is already gone.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRecords, stopProcess, type ProcessRecord } from '../process.ts';

export interface NodeRecord {
  dir: string;
  bridge: string;
  /** The kubelet's cgroup parent, e.g. /warren-node-1a2b (under every controller of /sys/fs/cgroup). */
  cgroupRoot: string;
  /** /proc/sys paths and the values they had before the node started. */
  sysctls: Record<string, string>;
  ctr: string;
  containerdSocket: string;
  /** Machine-wide paths the kubelet and containerd hard-code, which did not exist before this node created them. */
  createdPaths: string[];
}

export const NODE_RECORD = 'node.json';
/** Names the node directory of the running test node, so that a second environment knows the node is taken. */
export const NODE_OWNER_FILE = '/run/warren-testenv-node';
/** The order to stop the node's processes in: nothing that starts containers outlives the runtime's clean-up. */
const STOP_ORDER = ['kubelet', 'kube-proxy', 'kube-scheduler', 'coredns', 'provisioner'];

export function writeNodeRecord(record: NodeRecord): void {
  writeFileSync(join(record.dir, NODE_RECORD), JSON.stringify(record, null, 2) + '\n');
}

export function readNodeRecord(dir: string): NodeRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, NODE_RECORD), 'utf8')) as NodeRecord;
  } catch {
    return undefined;
  }
}

/** Every node directory under dir (an environment holds at most one; a crashed run may have left one). */
export function findNodeDirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((entry) => entry === NODE_RECORD || entry.endsWith(`/${NODE_RECORD}`))
    .map((entry) => join(dir, entry, '..'));
}

const quietly = (fn: () => void) => {
  try {
    fn();
  } catch {
    // already gone
  }
};

function run(command: string, args: string[]): string {
  return execFileSync(command, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
}

/** Takes the node down; returns what it stopped and removed, for `down` to report. */
export async function teardownNode(dir: string): Promise<string[]> {
  const node = readNodeRecord(dir);
  if (!node) return [];
  const done: string[] = [];
  const records = new Map(findRecords(dir).map(({ path, record }) => [record.name, { path, record }]));
  const stop = async (name: string) => {
    const found = records.get(name);
    if (!found) return;
    await stopProcess(found.record);
    rmSync(found.path, { force: true });
    records.delete(name);
    done.push(`${name} (pid ${found.record.pid})`);
  };
  for (const name of STOP_ORDER) await stop(name);

  // With the kubelet gone nothing restarts containers: stop every task while containerd can still do it.
  if (records.has('containerd')) {
    const ctr = (...args: string[]) => run(node.ctr, ['-a', node.containerdSocket, '-n', 'k8s.io', ...args]);
    quietly(() => {
      const tasks = ctr('tasks', 'ls', '-q').split('\n').filter(Boolean);
      for (const id of tasks) quietly(() => ctr('tasks', 'kill', '-s', 'SIGKILL', id));
      for (const id of tasks) quietly(() => ctr('tasks', 'delete', '-f', id));
      if (tasks.length > 0) done.push(`${tasks.length} containers`);
    });
  }
  await stop('containerd');
  // The relays to host services, last: nothing of the node talks through them any more.
  for (const { path, record } of records.values()) {
    await stopProcess(record);
    rmSync(path, { force: true });
    done.push(`${record.name} (pid ${record.pid})`);
  }

  await killStragglers(node);
  const unmounted = unmountUnder([dir, '/run/containerd', '/run/netns/cni-']);
  if (unmounted > 0) done.push(`${unmounted} mounts`);
  const cgroups = removeCgroups(node.cgroupRoot);
  if (cgroups > 0) done.push(`${cgroups} cgroups`);
  quietly(() => run('ip', ['link', 'delete', node.bridge]));
  for (const family of ['ip', 'ip6']) quietly(() => run('nft', ['delete', 'table', family, 'kube-proxy']));
  for (const link of vethsOf(node.bridge)) quietly(() => run('ip', ['link', 'delete', link]));
  for (const path of node.createdPaths) rmSync(path, { recursive: true, force: true });
  for (const [path, value] of Object.entries(node.sysctls)) quietly(() => writeFileSync(path, value));
  quietly(() => {
    if (readFileSync(NODE_OWNER_FILE, 'utf8').trim() === dir) rmSync(NODE_OWNER_FILE);
  });
  rmSync(join(dir, NODE_RECORD), { force: true });
  const left = leftovers(node);
  if (left.length > 0) process.stderr.write(`The test node left behind: ${left.join(', ')}\n`);
  return done;
}

/**
 * Container processes and runtime shims live in sessions of their own, out of reach of any process group we
 * recorded. They are found by what is certainly ours: membership of the node's cgroups, or a command line that
 * names the node's directory.
 */
async function killStragglers(node: NodeRecord): Promise<void> {
  const pids = new Set<number>();
  for (const cgroupDir of cgroupDirs(node.cgroupRoot)) {
    quietly(() => {
      for (const pid of readFileSync(join(cgroupDir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        pids.add(Number(pid));
      }
    });
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    quietly(() => {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(node.dir)) pids.add(Number(entry));
    });
  }
  for (const pid of pids) {
    const record: ProcessRecord = { name: 'container', pid, startTime: null, startedAt: 0, logPath: null };
    quietly(() => process.kill(pid, 'SIGKILL'));
    await stopProcess(record, 2000);
  }
}

/** Unmounts every mount point under the given prefixes, deepest first; returns how many. */
function unmountUnder(prefixes: string[]): number {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\040/g, ' '))
    .filter((point) => prefixes.some((prefix) => point === prefix || point.startsWith(prefix)));
  const unique = [...new Set(points)].sort((a, b) => b.length - a.length);
  for (const point of unique) {
    quietly(() => run('umount', [point]));
    if (readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${point} `)) {
      quietly(() => run('umount', ['-l', point]));
    }
  }
  return unique.length;
}

function cgroupDirs(root: string): string[] {
  const dirs: string[] = [];
  if (!existsSync('/sys/fs/cgroup')) return dirs;
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    const top = join('/sys/fs/cgroup', controller, root);
    if (!existsSync(top)) continue;
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name));
      }
      dirs.push(dir);
    };
    quietly(() => walk(top));
  }
  return dirs; // children before parents
}

function removeCgroups(root: string): number {
  let removed = 0;
  for (const dir of cgroupDirs(root)) {
    try {
      rmdirSync(dir);
      removed += 1;
    } catch {
      // a process still in it: killStragglers missed one, and `down` says so through the check below
    }
  }
  return removed;
}

function vethsOf(bridge: string): string[] {
  try {
    return run('ip', ['-o', 'link', 'show', 'master', bridge])
      .split('\n')
      .map((line) => /^\d+: ([^@:]+)/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
  } catch {
    return [];
  }
}

/** What of the node is still present on the machine (empty when the teardown left nothing behind). */
export function leftovers(node: Pick<NodeRecord, 'dir' | 'bridge' | 'cgroupRoot'>): string[] {
  const found: string[] = [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[4]?.startsWith(node.dir));
  if (mounts.length > 0) found.push(`${mounts.length} mounts under ${node.dir}`);
  if (cgroupDirs(node.cgroupRoot).length > 0) found.push(`cgroups under ${node.cgroupRoot}`);
  quietly(() => {
    run('ip', ['link', 'show', node.bridge]);
    found.push(`the bridge ${node.bridge}`);
  });
  quietly(() => {
    if (run('nft', ['list', 'tables']).includes('kube-proxy')) found.push('the kube-proxy nftables tables');
  });
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    quietly(() => {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(node.dir)) found.push(`process ${entry}`);
    });
  }
  return found;
}
