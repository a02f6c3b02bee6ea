// Cluster references → where the broker is and how to log in.
//
// A topology object names either a Warren RabbitmqCluster (endpoint from its client Service, credentials
// from its default-user Secret) or an external broker through a connection Secret (keys uri, username,
// password, optional ca.crt). Secrets are read from a cache filtered by the label warren.dev/watched, so
// thousands of unrelated Secrets stay out of memory; a referenced Secret without the label is read once
// from the API server and labelled, so that its changes are seen from then on. Nothing here is cached
// beyond the informers: credentials follow their Secret on the next reconcile, and the client registry
// keys its pools by endpoint and credentials, so a rotated password gets a fresh client.
import { watchedLabel } from '../api/common.ts';
import type { BrokerEndpoint } from '../rabbitmq/types.ts';
import type { Cache } from '../runtime/informer.ts';
import type { KubeClient } from '../runtime/kube-client.ts';
import type { Logger } from '../runtime/logger.ts';
import { coreResources, type KubeObject } from '../runtime/resource.ts';

export const connectionUriAnnotation = 'warren.dev/connection-uri';
export const allowedNamespacesAnnotations = [
  'warren.dev/topology-allowed-namespaces',
  'rabbitmq.com/topology-allowed-namespaces',
] as const;

export interface ClusterReference {
  name?: string;
  namespace?: string;
  connectionSecret?: { name: string };
}

export interface NamespacedName {
  namespace: string;
  name: string;
}

export interface ResolvedConnection {
  ok: true;
  endpoint: BrokerEndpoint;
  /** The Secret the credentials come from (its changes re-reconcile the object). */
  secret: NamespacedName;
  /** The RabbitmqCluster, for cluster references. */
  cluster?: NamespacedName;
  /** AMQP address for connection strings, when the broker is a Warren cluster. */
  amqp?: { host: string; port: number; tls: boolean };
}

export interface FailedConnection {
  ok: false;
  reason: string;
  message: string;
  /** Whether the broker is gone for good (deletion then drops the finalizer instead of waiting). */
  gone: boolean;
}

export type Connection = ResolvedConnection | FailedConnection;

export type SecretData = Record<string, string>;

/** The parts of a RabbitmqCluster (plain JSON from the cache) that say how to reach it. */
export interface ClusterObject extends KubeObject {
  spec?: { tls?: { disableNonTLSListeners?: boolean } };
  status?: {
    defaultUser?: { secretReference?: { name: string; namespace?: string; keys?: Record<string, string> } };
  };
}

export interface SecretObject extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** A Secret's data, base64-decoded. */
export function decodeSecret(secret: SecretObject): SecretData {
  const out: SecretData = {};
  for (const [key, value] of Object.entries(secret.data ?? {}))
    out[key] = Buffer.from(value, 'base64').toString('utf8');
  return out;
}

/** Whether a cluster lets objects of `namespace` use it (its own namespace always may). */
export function namespaceAllowed(cluster: KubeObject, namespace: string): boolean {
  if (cluster.metadata.namespace === namespace) return true;
  const annotations = cluster.metadata.annotations ?? {};
  return allowedNamespacesAnnotations.some((key) =>
    (annotations[key] ?? '')
      .split(',')
      .map((s) => s.trim())
      .some((allowed) => allowed === '*' || allowed === namespace),
  );
}

/** The management API address of a Warren cluster: its annotation, else its client Service. */
export function clusterManagementUrl(cluster: ClusterObject): string {
  const annotated = cluster.metadata.annotations?.[connectionUriAnnotation];
  if (annotated) return annotated;
  const host = `${cluster.metadata.name ?? ''}.${cluster.metadata.namespace ?? ''}.svc`;
  return cluster.spec?.tls?.disableNonTLSListeners ? `https://${host}:15671` : `http://${host}:15672`;
}

/** The endpoint a connection Secret describes, or what is missing from it. */
export function endpointFromSecret(data: SecretData): BrokerEndpoint | string {
  const missing = ['uri', 'username', 'password'].filter((key) => !data[key]);
  if (missing.length > 0) return `it lacks the key(s) ${missing.join(', ')}`;
  const uri = data.uri ?? '';
  const url = uri.includes('://') ? uri : `http://${uri}`;
  // The value itself is never quoted back: a uri may carry credentials.
  if (!URL.canParse(url)) return 'its key uri is not a URL (expected http://host:port or https://host:port)';
  const protocol = new URL(url).protocol;
  if (protocol !== 'http:' && protocol !== 'https:') {
    return `its key uri uses ${protocol.slice(0, -1)}, not http or https (the management API's address is expected)`;
  }
  return {
    url,
    username: data.username ?? '',
    password: data.password ?? '',
    ...(data['ca.crt'] ? { ca: data['ca.crt'] } : {}),
  };
}

export interface ConnectionsOptions {
  client: KubeClient;
  /** Secrets labelled warren.dev/watched. */
  secrets: Cache<SecretObject>;
  clusters: Cache<ClusterObject>;
  log: Logger;
}

export class Connections {
  readonly #o: ConnectionsOptions;
  /** Secrets labelled by this process but not yet seen by the informer. */
  readonly #labelled = new Set<string>();

  constructor(options: ConnectionsOptions) {
    this.#o = options;
  }

  /**
   * Where the broker of an object in `namespace` with this reference is, and how to log in. `signal` (the
   * reconcile's) goes with any Secret read or label write this needs.
   */
  async resolve(namespace: string, ref: ClusterReference, signal?: AbortSignal): Promise<Connection> {
    const refNamespace = ref.namespace ?? namespace;
    if (ref.connectionSecret)
      return this.#fromSecret(namespace, refNamespace, ref.connectionSecret.name, signal);
    if (!ref.name) {
      return {
        ok: false,
        reason: 'InvalidSpec',
        message: 'rabbitmqClusterReference names neither a cluster nor a Secret.',
        gone: true,
      };
    }
    const cluster = this.#o.clusters.get({ namespace: refNamespace, name: ref.name });
    const where = `RabbitmqCluster "${ref.name}" in namespace "${refNamespace}"`;
    if (!cluster)
      return { ok: false, reason: 'ClusterNotFound', message: `${where} does not exist.`, gone: true };
    if (cluster.metadata.deletionTimestamp) {
      return { ok: false, reason: 'ClusterDeleting', message: `${where} is being deleted.`, gone: true };
    }
    if (!namespaceAllowed(cluster, namespace)) {
      return {
        ok: false,
        reason: 'NamespaceNotAllowed',
        message:
          `${where} does not allow topology objects from namespace "${namespace}". Add it to the cluster's ` +
          `annotation ${allowedNamespacesAnnotations[0]} (a comma-separated list, or "*").`,
        gone: true,
      };
    }
    const secretRef = cluster.status?.defaultUser?.secretReference;
    if (!secretRef) {
      return {
        ok: false,
        reason: 'ClusterNotReady',
        message: `${where} has not published its default user yet.`,
        gone: false,
      };
    }
    const secret = { namespace: secretRef.namespace || refNamespace, name: secretRef.name };
    const data = await this.secret(secret.namespace, secret.name, signal);
    if (!data) {
      return {
        ok: false,
        reason: 'SecretNotFound',
        message: `The default-user Secret "${secret.name}" of ${where} does not exist.`,
        gone: true,
      };
    }
    const keys = secretRef.keys ?? {};
    const username = data[keys.username ?? 'username'];
    const password = data[keys.password ?? 'password'];
    if (!username || !password) {
      return {
        ok: false,
        reason: 'SecretInvalid',
        message: `The default-user Secret "${secret.name}" of ${where} lacks a username or password.`,
        gone: false,
      };
    }
    const url = clusterManagementUrl(cluster);
    const tls = url.startsWith('https:');
    const ca = data['ca.crt'];
    return {
      ok: true,
      endpoint: { url, username, password, ...(ca ? { ca } : {}) },
      secret,
      cluster: { namespace: refNamespace, name: ref.name },
      amqp: {
        host: `${ref.name}.${refNamespace}.svc`,
        port: tls ? 5671 : 5672,
        tls,
      },
    };
  }

  async #fromSecret(
    namespace: string,
    secretNamespace: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<Connection> {
    const where = `connection Secret "${name}" in namespace "${secretNamespace}"`;
    const raw = await this.#read(secretNamespace, name, signal);
    // A Secret in another namespace is only used when that Secret allows this namespace, like a cluster. It is
    // checked before anything is written: a Secret that does not allow us is never labelled.
    if (raw && secretNamespace !== namespace && !namespaceAllowed(raw, namespace)) {
      return {
        ok: false,
        reason: 'NamespaceNotAllowed',
        message: `The ${where} does not allow namespace "${namespace}" (annotation ${allowedNamespacesAnnotations[0]}).`,
        gone: true,
      };
    }
    if (!raw)
      return { ok: false, reason: 'SecretNotFound', message: `The ${where} does not exist.`, gone: true };
    await this.#watch(raw, signal);
    const data = decodeSecret(raw);
    const endpoint = endpointFromSecret(data);
    if (typeof endpoint === 'string') {
      return {
        ok: false,
        reason: 'SecretInvalid',
        message: `The ${where} cannot be used: ${endpoint}.`,
        gone: false,
      };
    }
    return { ok: true, endpoint, secret: { namespace: secretNamespace, name } };
  }

  /** A Secret's decoded data, from the cache, else read once and labelled so the cache holds it from now on. */
  async secret(namespace: string, name: string, signal?: AbortSignal): Promise<SecretData | undefined> {
    const raw = await this.#read(namespace, name, signal);
    if (!raw) return undefined;
    await this.#watch(raw, signal);
    return decodeSecret(raw);
  }

  /** From the cache of watched Secrets, else from the API server. */
  async #read(namespace: string, name: string, signal?: AbortSignal): Promise<SecretObject | undefined> {
    const cached = this.#o.secrets.get({ namespace, name });
    if (cached) return cached;
    return this.#o.client.get<SecretObject>(coreResources.secret, { namespace, name }, { signal });
  }

  /** Labels a Secret Warren uses, once, so that the cache of watched Secrets holds it and sees its changes. */
  async #watch(raw: SecretObject, signal?: AbortSignal): Promise<void> {
    const { namespace = '', name = '' } = raw.metadata;
    const id = `${namespace}/${name}`;
    if (raw.metadata.labels?.[watchedLabel] === 'true' || this.#labelled.has(id)) return;
    await this.#o.client.mergePatch(
      coreResources.secret,
      { namespace, name },
      { metadata: { labels: { [watchedLabel]: 'true' } } },
      undefined,
      { signal },
    );
    this.#labelled.add(id);
    this.#o.log.info(
      { namespace, name },
      `labelled Secret ${watchedLabel}=true so that Warren sees its changes`,
    );
  }
}
