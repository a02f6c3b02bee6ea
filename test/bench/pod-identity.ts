// Runs the operator with what a pod has: a ServiceAccount bound to the operator's own rules in the benchmark
// namespace, with its token mounted where the kubelet puts it (test/env/service-account.ts). The operator then
// loads what it loads in a pod, which the memory figures are about. Without root, undefined, and the operator
// reads the kubeconfig.
import { leaderElectionRules, watchedNamespaceRules } from '../../src/rbac.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import { mountServiceAccount, type MountedServiceAccount } from '../env/service-account.ts';

const resource = (group: string, plural: string, kind: string) => ({
  group,
  version: 'v1',
  plural,
  kind,
  namespaced: true,
});

export async function podIdentity(
  kube: KubeClient,
  namespace: string,
  caPem: string,
): Promise<MountedServiceAccount | undefined> {
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
  const request = await kube.request<{ status: { token: string } }>(
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
  return mountServiceAccount({ token: request.status.token, caPem, namespace }, kube.server);
}
