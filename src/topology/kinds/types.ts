// The contract between the generic topology reconciler and one kind.
//
// A kind says, with pure functions, where its object lives on the broker, what the spec asks for, whether
// the live object matches, which writes converge it and how it is deleted safely. The reconciler does the
// I/O around these functions (cache, snapshot, management API, status, Events), so everything a kind
// decides can be tested without a server. The exceptions are `fresh`, the read a deletion needs, and
// `prepare`, a kind's own reads before its desired state (a User's credentials Secret).
//
// A kind also carries its API resource: the controllers derive its parsing, its cluster reference and its
// watches from it, so a new kind is its schema (src/api), its definition here and one line in kinds/index.ts.
import type { ResourceDefinition } from '../../api/resource.ts';
import type { BrokerSnapshot, ObjectKind } from '../../rabbitmq/snapshot/index.ts';
import type { Condition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube-client.ts';
import type { KubeObject, ResourceRef } from '../../runtime/resource.ts';
import type { ResolvedConnection, SecretData } from '../connections.ts';
import type { ManagementClient } from '../../rabbitmq/management/client.ts';
import type { BrokerOp } from '../../rabbitmq/operations.ts';

export type { BrokerOp };

/** `delete` keeps objects that still hold messages; `delete-with-data` does not; `retain` never deletes. */
export type DeletionPolicy = 'delete' | 'delete-with-data' | 'retain';

/** What a kind reads of a broker: the shared snapshot (or anything shaped like it, in tests). */
export type BrokerState = Pick<
  BrokerSnapshot,
  | 'vhost'
  | 'user'
  | 'permission'
  | 'topicPermission'
  | 'exchange'
  | 'queue'
  | 'policy'
  | 'operatorPolicy'
  | 'hasBinding'
  | 'bindingsFrom'
  | 'parameter'
>;

/** A difference the broker cannot resolve in place: reported, never "fixed" by delete and recreate. */
export interface Conflict {
  reason: string;
  message: string;
}

export interface Comparison {
  /** Names of the fields that differ and can be written in place (`tags`, `limits.max-queues`); never values. */
  changes: string[];
  conflict?: Conflict;
}

/** An object the kind needs on the broker before it can be declared. */
export interface Dependency {
  type: 'vhost' | 'user' | 'exchange' | 'queue';
  vhost?: string;
  name: string;
}

/** The outcome of computing the desired broker object from a spec. */
export type Desired<W> = { ok: true; want: W } | { ok: false; reason: string; message: string };

/**
 * What to do to delete the broker object, decided from the snapshot, or from a fresh read made right before
 * deleting where the broker's own guard cannot decide (a quorum queue's message count must not be a minute old).
 */
export type DeletionStep =
  | { action: 'gone' }
  | { action: 'retain' }
  | { action: 'blocked'; reason: string; message: string }
  | { action: 'delete'; ops: BrokerOp[] };

/** References a spec may need resolved before it has a broker shape. */
export interface References {
  /** The broker username of a User resource in the same namespace, once it has one. */
  userName(name: string): string | undefined;
  /** A User's credentials, read from its Secret (generated or imported); undefined while there is none. */
  credentials(): UserCredentials | undefined;
  /** The Secret a kind's `prepare` read for it (a Shovel's uriSecret); undefined when it does not exist. */
  secretData?(): SecretData | undefined;
}

/** Exactly one of password and passwordHash is set (an empty passwordHash: no password login). */
export interface UserCredentials {
  username: string;
  password?: string;
  passwordHash?: string;
}

/** Password handling, injected so that kinds stay pure and tests deterministic. */
export interface SecretOps {
  hashPassword(password: string): { password_hash: string; hashing_algorithm: string };
  passwordMatches(password: string, passwordHash: string, algorithm: string): boolean;
}

/** Where an object sits in the snapshot: its kind and key there (also what drift reports). */
export interface BrokerKey {
  kind: ObjectKind;
  key: string;
}

/** A topology object as the cache holds it (plain JSON); `spec` is validated before use. */
export interface TopologyObject extends KubeObject {
  spec?: unknown;
  status?: { observedGeneration?: number; conditions?: Condition[]; [key: string]: unknown };
}

/** What a kind needs beyond its spec, read before the desired state is computed. */
export interface Prepared {
  refs: References;
  /** Extra status fields (a User's username and credentials Secret). */
  status?: Record<string, unknown>;
  /** Changes to the desired state that do not change the generation (a rotated password), as a digest. */
  revision?: string;
  /** Dependency targets (see dependencies.ts) whose changes must re-reconcile this object. */
  dependsOn?: string[];
}

/** What `prepare` may use: the API server, Secrets (watched once read) and the shared references. */
export interface PrepareContext {
  signal: AbortSignal;
  kube: KubeClient;
  secret(namespace: string, name: string, signal?: AbortSignal): Promise<SecretData | undefined>;
  references: References;
}

export type Prepare<Spec> = (
  obj: TopologyObject,
  spec: Spec,
  connection: ResolvedConnection,
  ctx: PrepareContext,
) => Promise<Prepared | { reason: string; message: string }>;

/** Another kind whose changes re-reconcile the objects that depend on it (a Permission on its User). */
export interface KindWatch {
  resource: ResourceRef;
  /** The dependency target (see dependencies.ts) an object of the watched kind is. */
  target: (obj: KubeObject) => string;
}

export interface TopologyKind<Spec, W, Live> {
  kind: string;
  /** The API resource: parsing, printer columns and the cluster reference (`spec.rabbitmqClusterReference`). */
  resource: ResourceDefinition;
  /** Reads of the kind's own before `desired` (default: the shared references, nothing else). */
  prepare?: Prepare<Spec>;
  /** The broker object to delete when the desired state cannot be computed any more (a User's last username). */
  deletionWant?: (obj: TopologyObject, spec: Spec) => W | undefined;
  /** Other kinds whose changes re-reconcile objects of this kind. */
  watches?: readonly KindWatch[];
  deletionPolicy: (spec: Spec) => DeletionPolicy;
  /** The desired broker object from the spec and resolved references; pure. */
  desired: (spec: Spec, refs: References) => Desired<W>;
  /** A stable key of the broker object, shared by every resource that declares the same object. */
  brokerKey: (want: W) => BrokerKey;
  /**
   * The other broker objects the object is made of (a SuperStream's partition streams and bindings): a change
   * to any of them behind Warren's back re-reconciles it, as one to the object under `brokerKey` does.
   */
  parts?: (want: W) => BrokerKey[];
  /** `queue "orders" in vhost "/"`: how messages name the object. */
  describe: (want: W) => string;
  dependencies: (want: W) => Dependency[];
  live: (state: BrokerState, want: W) => Live | undefined;
  compare: (live: Live, want: W, secrets: SecretOps) => Comparison;
  /** The writes that make the broker match `want`, given what is there now (undefined = absent). */
  write: (want: W, live: Live | undefined, secrets: SecretOps) => BrokerOp[];
  /**
   * Whether the broker object deletes itself when its work is done (a shovel with srcDeleteAfter): once it was
   * Ready, its absence is that, not drift, and it is not restored.
   */
  deletesItself?: (want: W) => boolean;
  /**
   * Reads what deletion must decide on, right before deleting, where the snapshot cannot say (a message count
   * changes by the second); undefined when the object is gone. `live` is the snapshot's object. Without it,
   * deletion decides on the snapshot alone: a DELETE of something already gone is answered 404, which counts
   * as done, so deleting N objects costs N requests, not 2N.
   */
  fresh?: (
    client: ManagementClient,
    want: W,
    live: Live | undefined,
    signal?: AbortSignal,
  ) => Promise<unknown>;
  /** `current` is what `fresh` read, or the snapshot's live object for a kind without `fresh`. */
  deletion: (want: W, policy: DeletionPolicy, current: unknown) => DeletionStep;
}
