// The contract between the generic topology reconciler and one kind.
//
// A kind says, with pure functions only, where its object lives on the broker, what the spec asks for,
// whether the live object matches, which requests converge it and how it is deleted safely. The
// reconciler does the I/O around these functions (cache, snapshot, HTTP, status, Events), so everything a
// kind decides can be tested without a server.

/** `delete` keeps objects that still hold messages; `delete-with-data` does not; `retain` never deletes. */
export type DeletionPolicy = 'delete' | 'delete-with-data' | 'retain';

/** One write to the management API, described for logs and Events (never with a secret in `what`). */
export interface BrokerRequest {
  method: 'PUT' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
}

/** A difference the broker cannot resolve in place: reported, never "fixed" by delete and recreate. */
export interface Conflict {
  reason: string;
  message: string;
}

export interface Comparison {
  /** Human-readable fields that differ and can be written in place, e.g. `tags`, `limits.max-queues`. */
  changes: string[];
  conflict?: Conflict;
}

/** An object the kind needs on the broker before it can be declared (a vhost, a user, a queue...). */
export interface Dependency {
  type: 'vhost' | 'user' | 'exchange' | 'queue';
  vhost?: string;
  name: string;
}

/** Read access to one broker's topology, as of the last snapshot. */
export interface BrokerState {
  vhost(name: string): LiveVhost | undefined;
  user(name: string): LiveUser | undefined;
  permission(vhost: string, user: string): LivePermission | undefined;
  exchange(vhost: string, name: string): LiveExchange | undefined;
  queue(vhost: string, name: string): LiveQueue | undefined;
  bindings(
    vhost: string,
    source: string,
    destinationType: 'queue' | 'exchange',
    destination: string,
  ): LiveBinding[];
  policy(vhost: string, name: string): LivePolicy | undefined;
}

/** Broker shapes as the management API reports them (definitions export and list endpoints). */
export interface LiveVhost {
  name: string;
  description?: string;
  tags?: string[] | string;
  default_queue_type?: string;
  tracing?: boolean;
  limits?: Record<string, number>;
  metadata?: { description?: string; tags?: string[]; default_queue_type?: string };
}

export interface LiveUser {
  name: string;
  password_hash: string;
  hashing_algorithm?: string;
  tags: string[] | string;
  limits?: Record<string, number>;
}

export interface LivePermission {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

export interface LiveExchange {
  name: string;
  vhost?: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal?: boolean;
  arguments?: Record<string, unknown>;
}

export interface LiveQueue {
  name: string;
  vhost?: string;
  type?: string;
  durable: boolean;
  auto_delete: boolean;
  arguments?: Record<string, unknown>;
  messages?: number;
}

export interface LiveBinding {
  source: string;
  vhost?: string;
  destination: string;
  destination_type: 'queue' | 'exchange';
  routing_key: string;
  arguments?: Record<string, unknown>;
  properties_key?: string;
}

export interface LivePolicy {
  name: string;
  vhost?: string;
  pattern: string;
  'apply-to': string;
  definition: Record<string, unknown>;
  priority: number;
}

/** The outcome of computing the desired broker object from a spec. */
export type Desired<W> = { ok: true; want: W } | { ok: false; reason: string; message: string };

/**
 * What to do to delete the broker object, decided from a fresh read made right before deleting (the snapshot
 * may be a minute old, and a message count must not be).
 */
export type DeletionStep =
  | { action: 'gone' }
  | { action: 'retain' }
  | { action: 'blocked'; reason: string; message: string }
  | { action: 'delete'; requests: BrokerRequest[] };

export interface TopologyKind<Spec, W, Live> {
  kind: string;
  /** Whether the kind has a `deletionPolicy` at all; kinds without one always delete. */
  deletionPolicy: (spec: Spec) => DeletionPolicy;
  /** The desired broker object from the spec and resolved references; pure. */
  desired: (spec: Spec, refs: References) => Desired<W>;
  /** A stable key of the broker object, shared by every resource that declares the same object. */
  brokerKey: (want: W) => string;
  /** `queue "orders" in vhost "/"`: how messages name the object. */
  describe: (want: W) => string;
  dependencies: (want: W) => Dependency[];
  live: (state: BrokerState, want: W) => Live | undefined;
  compare: (live: Live, want: W, secrets: SecretOps) => Comparison;
  /** The requests that make the broker match `want`, given what is there now (undefined = absent). */
  write: (want: W, live: Live | undefined, secrets: SecretOps) => BrokerRequest[];
  /** The path to GET right before deleting; its body (or undefined on 404) feeds `deletion`. */
  freshRead: (want: W) => string;
  deletion: (want: W, policy: DeletionPolicy, fresh: unknown) => DeletionStep;
}

/** References a spec may need resolved before it has a broker shape (Permission's `userReference`). */
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
  passwordMatches(password: string, passwordHash: string, algorithm: string | undefined): boolean;
}
