// The contract between the generic topology reconciler and one kind.
//
// A kind says, with pure functions, where its object lives on the broker, what the spec asks for, whether
// the live object matches, which writes converge it and how it is deleted safely. The reconciler does the
// I/O around these functions (cache, snapshot, management API, status, Events), so everything a kind
// decides can be tested without a server. The one exception is `fresh`, the read a deletion needs.
import type { BrokerSnapshot, ObjectKind } from '../../rabbitmq/snapshot/index.ts';
import type { ManagementClient } from '../../rabbitmq/management/client.ts';
import type { BrokerOp } from '../../rabbitmq/operations.ts';

export type { BrokerOp };

/** `delete` keeps objects that still hold messages; `delete-with-data` does not; `retain` never deletes. */
export type DeletionPolicy = 'delete' | 'delete-with-data' | 'retain';

/** What a kind reads of a broker: the shared snapshot (or anything shaped like it, in tests). */
export type BrokerState = Pick<
  BrokerSnapshot,
  'vhost' | 'user' | 'permission' | 'exchange' | 'queue' | 'policy' | 'hasBinding'
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
 * What to do to delete the broker object, decided from a fresh read made right before deleting (the
 * snapshot may be a minute old, and a message count must not be).
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

export interface TopologyKind<Spec, W, Live> {
  kind: string;
  deletionPolicy: (spec: Spec) => DeletionPolicy;
  /** The desired broker object from the spec and resolved references; pure. */
  desired: (spec: Spec, refs: References) => Desired<W>;
  /** A stable key of the broker object, shared by every resource that declares the same object. */
  brokerKey: (want: W) => BrokerKey;
  /** `queue "orders" in vhost "/"`: how messages name the object. */
  describe: (want: W) => string;
  dependencies: (want: W) => Dependency[];
  live: (state: BrokerState, want: W) => Live | undefined;
  compare: (live: Live, want: W, secrets: SecretOps) => Comparison;
  /** The writes that make the broker match `want`, given what is there now (undefined = absent). */
  write: (want: W, live: Live | undefined, secrets: SecretOps) => BrokerOp[];
  /** Reads what deletion must decide on, right before deleting; undefined when the object is gone. */
  fresh: (client: ManagementClient, want: W, signal?: AbortSignal) => Promise<unknown>;
  deletion: (want: W, policy: DeletionPolicy, fresh: unknown) => DeletionStep;
}
