// Runs the operator with what a pod has: a ServiceAccount bound to the operator's own rules in the benchmark
// namespace, its token, CA and namespace at the service account path (bind-mounted in a mount namespace of
// the operator's own), and KUBERNETES_SERVICE_HOST and _PORT. The operator then loads what it loads in a pod,
// which the memory figures are about. Needs root for unshare and mount; without it, undefined, and the
// operator reads the kubeconfig.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { leaderElectionRules, watchedNamespaceRules } from '../../src/rbac.ts';
import { SERVICE_ACCOUNT_DIR } from '../../src/runtime/api-server.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';

export interface PodIdentity {
  /** Environment of a pod's container, and no KUBECONFIG. */
  env: Record<string, string>;
  /** The command line that runs `command` with the service account mounted. */
  wrap(command: string, args: string[]): [string, string[]];
  remove(): void;
}

const resource = (group: string, plural: string, kind: string, namespaced = true) => ({
  group,
  version: 'v1',
  plural,
  kind,
  namespaced,
});

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('unshare', ['--mount', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The highest directory of `path` that does not exist yet (to remove afterwards), made with its parents. */
function makeMountPoint(path: string): string | undefined {
  let created: string | undefined;
  for (let dir = path; !existsSync(dir); dir = dirname(dir)) created = dir;
  mkdirSync(path, { recursive: true });
  return created;
}

export async function podIdentity(
  kube: KubeClient,
  namespace: string,
  caPem: string,
): Promise<PodIdentity | undefined> {
  if (!canMount()) return undefined;
  const name = 'warren';
  await kube.create(resource('', 'serviceaccounts', 'ServiceAccount'), { metadata: { name, namespace } });
  await kube.create(resource('rbac.authorization.k8s.io', 'roles', 'Role'), {
    metadata: { name, namespace },
    rules: [...watchedNamespaceRules, ...leaderElectionRules],
  } as never);
  await kube.create(resource('rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding'), {
    metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  } as never);
  const review = await kube.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 4 * 3600 },
      },
    },
  );
  const dir = mkdtempSync(join(tmpdir(), 'warren-bench-serviceaccount-'));
  writeFileSync(join(dir, 'token'), review.status.token, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), caPem);
  writeFileSync(join(dir, 'namespace'), namespace);
  const mountPoint = makeMountPoint(SERVICE_ACCOUNT_DIR);
  return {
    env: {
      KUBERNETES_SERVICE_HOST: kube.server.hostname,
      KUBERNETES_SERVICE_PORT: kube.server.port || '443',
    },
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
          return; // In use by another run, or no longer empty: leave it.
        }
      }
    },
  };
}
