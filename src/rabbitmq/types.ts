// Broker objects as the management API speaks them (snake_case wire names), the shapes
// the topology kinds compute as "desired" and the snapshot holds as "live".

export type Arguments = Record<string, unknown>;

/** Where a broker lives and how to log in. `ca` is PEM (the `ca.crt` of a connection Secret). */
export interface BrokerEndpoint {
  url: string;
  username: string;
  password: string;
  ca?: string;
}

export interface VhostSettings {
  description?: string;
  tags?: string[];
  default_queue_type?: string;
  tracing?: boolean;
}

export interface Vhost {
  name: string;
  description: string;
  /** Sorted: tags are a set. */
  tags: string[];
  tracing: boolean;
  default_queue_type?: string;
  /** `max-connections`, `max-queues`. */
  limits: Record<string, number>;
}

export interface UserSettings {
  password_hash: string;
  hashing_algorithm: string;
  tags: string[];
}

export interface User {
  name: string;
  password_hash: string;
  hashing_algorithm: string;
  /** Sorted: tags are a set. */
  tags: string[];
  /** `max-connections`, `max-channels`. */
  limits: Record<string, number>;
}

export interface PermissionSettings {
  configure: string;
  write: string;
  read: string;
}

export interface Permission extends PermissionSettings {
  user: string;
  vhost: string;
}

export interface TopicPermissionSettings {
  exchange: string;
  write: string;
  read: string;
}

export interface TopicPermission extends TopicPermissionSettings {
  user: string;
  vhost: string;
}

export interface ExchangeSettings {
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal?: boolean;
  arguments: Arguments;
}

export interface Exchange extends ExchangeSettings {
  name: string;
  vhost: string;
  internal: boolean;
}

export interface QueueSettings {
  durable: boolean;
  auto_delete: boolean;
  /** `x-queue-type` lives here. */
  arguments: Arguments;
}

export interface Queue extends QueueSettings {
  name: string;
  vhost: string;
}

/** A queue as `GET /api/queues/{vh}/{q}` returns it (the snapshot has no message counts). */
export interface QueueDetails extends Queue {
  type?: string;
  messages?: number;
  consumers?: number;
  state?: string;
  node?: string;
}

export type DestinationType = 'queue' | 'exchange';

export interface Binding {
  vhost: string;
  source: string;
  destination: string;
  destination_type: DestinationType;
  routing_key: string;
  arguments: Arguments;
}

export interface ListedBinding extends Binding {
  /** The broker's identity of this binding between its source and destination. */
  properties_key: string;
}

export type PolicyApplyTo = 'queues' | 'classic_queues' | 'quorum_queues' | 'streams' | 'exchanges' | 'all';

export interface PolicySettings {
  pattern: string;
  definition: Record<string, unknown>;
  priority: number;
  'apply-to': PolicyApplyTo | (string & {});
}

export interface Policy extends PolicySettings {
  name: string;
  vhost: string;
}

/** The value of a runtime parameter: a shovel's or a federation upstream's settings, by wire name. */
export type ParameterValue = Record<string, unknown>;

export interface Parameter {
  component: string;
  vhost: string;
  name: string;
  value: ParameterValue;
}

export interface Overview {
  rabbitmq_version?: string;
  erlang_version?: string;
  management_version?: string;
  cluster_name?: string;
  node?: string;
  [key: string]: unknown;
}

/** The shape of `GET /api/definitions` (fields absent on older brokers are optional). */
export interface Definitions {
  rabbit_version?: string;
  rabbitmq_version?: string;
  users?: {
    name: string;
    password_hash: string;
    hashing_algorithm: string;
    tags: string[] | string;
    limits?: Record<string, number>;
  }[];
  vhosts?: {
    name: string;
    description?: string;
    tags?: string[] | string;
    default_queue_type?: string;
    metadata?: { description?: string; tags?: string[]; default_queue_type?: string };
  }[];
  permissions?: Permission[];
  topic_permissions?: TopicPermission[];
  parameters?: Parameter[];
  global_parameters?: { name: string; value: unknown }[];
  policies?: Policy[];
  queues?: Queue[];
  exchanges?: Exchange[];
  bindings?: Binding[];
}

/** One entry of `GET /api/vhosts?columns=…`. */
export interface ListedVhost {
  name: string;
  description?: string;
  tags?: string[] | string;
  tracing?: boolean;
  default_queue_type?: string;
  metadata?: { description?: string; tags?: string[]; default_queue_type?: string };
}
