// Where the API server is and how to authenticate to it.
//
// In a pod this is the service account, read the way client-go's InClusterConfig reads it: two environment
// variables and the files the kubelet mounts. The operator then never loads client-node, whose import alone
// costs 84 MiB of resident memory, most of it generated API code the runtime does not use (it speaks REST
// itself). Outside a pod, client-node's KubeConfig reads kubeconfig files with all they may hold: exec
// plugins, OIDC, merged KUBECONFIG lists.
import type { KubeConfig } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { join } from 'node:path';

export interface ApiServerAccess {
  /** The API server's URL. */
  readonly server: string;
  /** The namespace of the pod, or of the kubeconfig's current context. */
  readonly namespace: string | undefined;
  /** Where the credentials come from (the start-up log says it). */
  readonly authentication: 'service account' | 'kubeconfig';
  /** Sets the TLS material and credentials of a request; asked every time, since both rotate. */
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The kubelet rotates projected tokens well before they expire; client-go rereads the file each minute too. */
const REREAD_AFTER_MS = 60_000;

/** The pod's service account: KUBERNETES_SERVICE_HOST and _PORT, and the token, CA and namespace files. */
export function inClusterAccess(
  env: NodeJS.ProcessEnv = process.env,
  dir = SERVICE_ACCOUNT_DIR,
): ApiServerAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new Error('not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set');
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  let namespace: string | undefined;
  try {
    namespace = read('namespace').trim() || undefined;
  } catch {
    // A token mounted without its namespace (automountServiceAccountToken: false and a projected volume).
  }
  // Read now, so a pod without its token fails at start; reread later, keeping the last good copy if the
  // kubelet is midway through swapping the files.
  let credentials = { token: read('token').trim(), ca: read('ca.crt') };
  let readAt = Date.now();
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    namespace,
    authentication: 'service account',
    applyToHTTPSOptions(options) {
      if (Date.now() - readAt >= REREAD_AFTER_MS) {
        try {
          credentials = { token: read('token').trim(), ca: read('ca.crt') };
        } catch {
          // Keep the last good copy; the next request tries again.
        }
        readAt = Date.now();
      }
      options.ca = credentials.ca;
      options.headers = { authorization: `Bearer ${credentials.token}` };
      return Promise.resolve();
    },
  };
}

export function accessFromKubeConfig(kubeConfig: KubeConfig): ApiServerAccess {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('no Kubernetes cluster configured (set KUBECONFIG or run in a pod)');
  return {
    server: cluster.server,
    namespace: kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace,
    authentication: 'kubeconfig',
    applyToHTTPSOptions: (options) => kubeConfig.applyToHTTPSOptions(options),
  };
}

/** In a pod (and no KUBECONFIG): the service account. Elsewhere: KUBECONFIG or ~/.kube/config. */
export async function loadApiServerAccess(): Promise<ApiServerAccess> {
  if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) return inClusterAccess();
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return accessFromKubeConfig(kubeConfig);
}
