// Where the test environment's binaries are: test/env/testbins/build.sh owns the versions and the cache layout,
// and builds what is missing (quickly returns when the cache is warm). KUBE_BIN_DIR and ETCD_BIN_DIR, when both
// are set, point at prebuilt control-plane binaries instead; the node's binaries always come from build.sh.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { TestEnvError } from './process.ts';

export interface Binaries {
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  etcd: string;
  kubeBinDir: string;
}

export interface NodeBinaries {
  kubelet: string;
  kubeScheduler: string;
  kubeProxy: string;
  containerd: string;
  containerdBinDir: string;
  ctr: string;
  runc: string;
  cniBinDir: string;
  coredns: string;
}

const BUILD_SCRIPT = join(import.meta.dirname, 'testbins', 'build.sh');

let cached: Binaries | undefined;
let cachedNode: NodeBinaries | undefined;

/** Runs build.sh and returns the directories it prints (KEY=dir lines). */
function build(what: 'control-plane' | 'all'): Record<string, string> {
  // stderr passes through: a cold build reports what it builds, and a missing Go says so in one sentence.
  const result = spawnSync('bash', [BUILD_SCRIPT, what], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new TestEnvError(`building the test binaries failed (${BUILD_SCRIPT}); see the message above.`);
  }
  return Object.fromEntries(
    [...result.stdout.matchAll(/^([A-Z_]+_BIN_DIR)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

function executable(path: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new TestEnvError(`${path} is missing: run \`bash ${BUILD_SCRIPT}\`.`);
  }
  return path;
}

export function ensureNodeBinaries(): NodeBinaries {
  if (cachedNode) return cachedNode;
  const dirs = build('all');
  const dir = (key: string) => {
    const value = dirs[key];
    if (!value) throw new TestEnvError(`${BUILD_SCRIPT} did not print ${key}.`);
    return value;
  };
  const kube = dir('KUBE_BIN_DIR');
  const containerd = dir('CONTAINERD_BIN_DIR');
  cachedNode = {
    kubelet: executable(join(kube, 'kubelet')),
    kubeScheduler: executable(join(kube, 'kube-scheduler')),
    kubeProxy: executable(join(kube, 'kube-proxy')),
    containerd: executable(join(containerd, 'containerd')),
    containerdBinDir: containerd,
    ctr: executable(join(containerd, 'ctr')),
    runc: executable(join(dir('RUNC_BIN_DIR'), 'runc')),
    cniBinDir: dir('CNI_BIN_DIR'),
    coredns: executable(join(dir('COREDNS_BIN_DIR'), 'coredns')),
  };
  for (const plugin of ['bridge', 'host-local', 'loopback']) executable(join(cachedNode.cniBinDir, plugin));
  return cachedNode;
}

export function ensureBinaries(): Binaries {
  if (cached) return cached;
  let kubeDir = process.env.KUBE_BIN_DIR;
  let etcdDir = process.env.ETCD_BIN_DIR;
  if (!kubeDir || !etcdDir) {
    const dirs = build('control-plane');
    kubeDir = dirs.KUBE_BIN_DIR;
    etcdDir = dirs.ETCD_BIN_DIR;
    if (!kubeDir || !etcdDir) throw new TestEnvError(`${BUILD_SCRIPT} did not print the binary directories.`);
  }
  const bins = {
    kubeApiserver: join(kubeDir, 'kube-apiserver'),
    kubeControllerManager: join(kubeDir, 'kube-controller-manager'),
    kubectl: join(kubeDir, 'kubectl'),
    etcd: join(etcdDir, 'etcd'),
    kubeBinDir: kubeDir,
  };
  for (const path of [bins.kubeApiserver, bins.kubeControllerManager, bins.kubectl, bins.etcd]) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      throw new TestEnvError(
        `${path} is missing: run \`bash ${BUILD_SCRIPT}\` (or unset KUBE_BIN_DIR and ETCD_BIN_DIR).`,
      );
    }
  }
  cached = bins;
  return bins;
}
