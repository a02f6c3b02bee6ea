// The operator's memory in the benchmark is measured as in the chart's pod: inside a memory cgroup with the
// container's limit, where the machine lets us make one. Node sizes its heap from that limit (about half
// of it), so a run without it would let the heap grow as on an unconstrained host.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const units: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  K: 1e3,
  M: 1e6,
  G: 1e9,
};

/** A Kubernetes memory quantity (`512Mi`, `1Gi`, `1G`) in bytes. */
export function memoryBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity.trim());
  if (!match?.[1]) throw new Error(`not a memory quantity: ${quantity}`);
  return Math.round(Number(match[1]) * (units[match[2] ?? ''] ?? 1));
}

/** `resources.limits.memory` of the chart's default values, in bytes. */
export function chartMemoryLimit(repoRoot: string): number {
  const values = parse(readFileSync(join(repoRoot, 'charts', 'warren', 'values.yaml'), 'utf8')) as {
    resources?: { limits?: { memory?: string } };
  };
  const limit = values.resources?.limits?.memory;
  if (!limit) throw new Error('the chart sets no memory limit');
  return memoryBytes(limit);
}

export interface MemoryCgroup {
  /** Write a PID here to move that process into the cgroup. */
  procs: string;
  remove(): void;
}

/** A memory cgroup (v1, or v2 with the memory controller) limited to `bytes`, or undefined if none can be made. */
export function memoryCgroup(name: string, bytes: number): MemoryCgroup | undefined {
  const candidates = [
    { root: '/sys/fs/cgroup/memory', limitFile: 'memory.limit_in_bytes' },
    { root: '/sys/fs/cgroup', limitFile: 'memory.max' },
  ];
  for (const { root, limitFile } of candidates) {
    if (!existsSync(join(root, limitFile === 'memory.max' ? 'cgroup.controllers' : limitFile))) continue;
    const dir = join(root, name);
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, limitFile), String(bytes));
      return {
        procs: join(dir, 'cgroup.procs'),
        remove: () => {
          try {
            rmdirSync(dir);
          } catch {
            // Still in use or already gone; the kernel removes nothing by itself, but an empty group costs nothing.
          }
        },
      };
    } catch {
      try {
        rmdirSync(dir);
      } catch {
        // never made
      }
    }
  }
  return undefined;
}
