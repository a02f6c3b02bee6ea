// Spec shapes the kinds read, field for field as in src/api (upstream names, defaults applied).
export interface ClusterReference {
  name?: string;
  namespace?: string;
  connectionSecret?: { name: string };
}

export interface VhostSpec {
  name: string;
  tags?: string[];
  defaultQueueType?: 'quorum' | 'classic' | 'stream';
  tracing?: boolean;
  limits?: { connections?: number; queues?: number };
  deletionPolicy?: 'delete' | 'delete-with-data' | 'retain';
  rabbitmqClusterReference: ClusterReference;
}

export interface UserSpec {
  tags?: string[];
  importCredentialsSecret?: { name: string };
  limits?: { connections?: number; channels?: number };
  rabbitmqClusterReference: ClusterReference;
}

export interface PermissionSpec {
  user?: string;
  userReference?: { name: string };
  vhost: string;
  permissions: { configure?: string; write?: string; read?: string };
  rabbitmqClusterReference: ClusterReference;
}

export interface ExchangeSpec {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  arguments?: Record<string, unknown>;
  deletionPolicy?: 'delete' | 'retain';
  rabbitmqClusterReference: ClusterReference;
}

export interface QueueSpec {
  name: string;
  vhost: string;
  type?: 'quorum' | 'classic' | 'stream';
  durable: boolean;
  autoDelete: boolean;
  arguments?: Record<string, unknown>;
  deletionPolicy: 'delete' | 'delete-with-data' | 'retain';
  deleteIfEmpty?: boolean;
  deleteIfUnused?: boolean;
  rabbitmqClusterReference: ClusterReference;
}

export interface BindingSpec {
  vhost: string;
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey?: string;
  arguments?: Record<string, unknown>;
  rabbitmqClusterReference: ClusterReference;
}

export interface PolicySpec {
  name: string;
  vhost: string;
  pattern: string;
  applyTo?: string;
  priority?: number;
  definition: Record<string, unknown>;
  rabbitmqClusterReference: ClusterReference;
}
