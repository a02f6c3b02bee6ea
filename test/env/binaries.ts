// Where the control-plane binaries are: test/env/testbins/build.sh owns the versions and the cache layout, and
// builds what is missing (quickly returns when the cache is warm). KUBE_BIN_DIR and ETCD_BIN_DIR, when both are
// set, point at prebuilt binaries instead.
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

const BUILD_SCRIPT = join(import.meta.dirname, 'testbins', 'build.sh');

let cached: Binaries | undefined;

export function ensureBinaries(): Binaries {
  if (cached) return cached;
  let kubeDir = process.env.KUBE_BIN_DIR;
  let etcdDir = process.env.ETCD_BIN_DIR;
  if (!kubeDir || !etcdDir) {
    // stderr passes through: a cold build reports what it builds, and a missing Go says so in one sentence.
    const result = spawnSync('bash', [BUILD_SCRIPT], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    if (result.status !== 0) {
      throw new TestEnvError(
        `building the control-plane binaries failed (${BUILD_SCRIPT}); see the message above.`,
      );
    }
    const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(result.stdout)?.[1];
    kubeDir = value('KUBE_BIN_DIR');
    etcdDir = value('ETCD_BIN_DIR');
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
