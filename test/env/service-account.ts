// A pod's service account for a process started here: its token, CA and namespace bind-mounted at the path the
// kubelet uses, in a mount namespace of the process's own, and KUBERNETES_SERVICE_HOST and _PORT set. The
// process then authenticates exactly as the operator does in a pod. Needs root (unshare and mount); undefined
// where they are not allowed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SERVICE_ACCOUNT_DIR } from '../../src/runtime/api-server.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';

export interface MountedServiceAccount {
  /** The environment a pod's container has; the process must not also get KUBECONFIG. */
  env: Record<string, string>;
  /** The command line that runs `command` with the service account mounted. */
  wrap(command: string, args: readonly string[]): [string, string[]];
  remove(): void;
}

export interface ServiceAccountFiles {
  token: string;
  caPem: string;
  namespace: string;
}

/** A token for ServiceAccount `name` from the TokenRequest API, as the kubelet gets one for a pod. */
export async function serviceAccountToken(
  kube: KubeClient,
  namespace: string,
  name: string,
  expirationSeconds: number,
): Promise<string> {
  const request = await kube.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } } },
  );
  return request.status.token;
}

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('unshare', ['--mount', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes `path` with its parents; returns the highest directory it made, to remove afterwards. */
function makeMountPoint(path: string): string | undefined {
  let created: string | undefined;
  for (let dir = path; !existsSync(dir); dir = dirname(dir)) created = dir;
  mkdirSync(path, { recursive: true });
  return created;
}

export function mountServiceAccount(
  files: ServiceAccountFiles,
  server: URL,
): MountedServiceAccount | undefined {
  if (!canMount()) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'warren-serviceaccount-'));
  writeFileSync(join(dir, 'token'), files.token, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), files.caPem);
  writeFileSync(join(dir, 'namespace'), files.namespace);
  const mountPoint = makeMountPoint(SERVICE_ACCOUNT_DIR);
  return {
    env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port || '443' },
    wrap: (command, args) => [
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '/bin/sh',
        '-c',
        'mount --bind "$0" "$1" && shift && exec "$@"',
        dir,
        SERVICE_ACCOUNT_DIR,
        command,
        ...args,
      ],
    ],
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
      if (mountPoint === undefined) return;
      for (let path = SERVICE_ACCOUNT_DIR; path.startsWith(mountPoint); path = dirname(path)) {
        try {
          rmdirSync(path);
        } catch {
          return; // In use by another process, or no longer empty: leave it.
        }
      }
    },
  };
}
