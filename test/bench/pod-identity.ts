// Runs the operator with what a pod has: a ServiceAccount bound to the operator's own rules in the benchmark
// namespace, with its token mounted where the kubelet puts it (test/env/service-account.ts). The operator then
// loads what it loads in a pod, which the memory figures are about. Without root, undefined, and the operator
// reads the kubeconfig.
import { leaderElectionRules, watchedNamespaceRules } from '../../src/rbac.ts';
import { SERVICE_ACCOUNT_DIR } from '../../src/runtime/api-server.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import { coreResources } from '../../src/runtime/resource.ts';
import {
  mountServiceAccount,
  serviceAccountToken,
  type MountedServiceAccount,
} from '../env/service-account.ts';

export async function podIdentity(
  kube: KubeClient,
  namespace: string,
  caPem: string,
): Promise<MountedServiceAccount | undefined> {
  const name = 'warren';
  await kube.create(coreResources.serviceAccount, { metadata: { name, namespace } });
  await kube.create(coreResources.role, {
    metadata: { name, namespace },
    rules: [...watchedNamespaceRules, ...leaderElectionRules],
  } as never);
  await kube.create(coreResources.roleBinding, {
    metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  } as never);
  const token = await serviceAccountToken(kube, namespace, name, 4 * 3600);
  const mounted = mountServiceAccount({ token, caPem, namespace }, kube.server);
  if (!mounted) return undefined;
  // The mount point is shared by every process on the machine that mounts a service account, and another
  // one's cleanup may remove it between two operator starts: each start makes sure it exists (then execs,
  // so the operator keeps the PID).
  return {
    ...mounted,
    wrap: (command, args) => {
      const [wrapper, wrapperArgs] = mounted.wrap(command, args);
      return ['/bin/sh', ['-c', 'mkdir -p "$0" && exec "$@"', SERVICE_ACCOUNT_DIR, wrapper, ...wrapperArgs]];
    },
  };
}
