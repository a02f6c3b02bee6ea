// Reading a broker into a snapshot: the bulk export (3 requests), or one export per vhost when a broken vhost
// makes the global export fail; and indexing what was read (pure, so the same sources give the same snapshot).
import { BrokerError } from '../errors.ts';
import type { ManagementClient } from '../management/client.ts';
import { normaliseTags } from '../normalise.ts';
import type { Binding, Definitions, ListedVhost, Policy, Vhost } from '../types.ts';
import { BrokerSnapshot, snapshotKeys, vhostScopedObjects } from './snapshot.ts';

export function queueType(value: string | undefined): string | undefined {
  return value === undefined || value === '' || value === 'undefined' ? undefined : value;
}

function vhostFrom(listed: ListedVhost, limits: Record<string, number> | undefined): Vhost {
  const defaultQueueType = queueType(listed.default_queue_type ?? listed.metadata?.default_queue_type);
  return {
    name: listed.name,
    description: listed.description ?? listed.metadata?.description ?? '',
    tags: normaliseTags(listed.tags ?? listed.metadata?.tags),
    tracing: listed.tracing ?? false,
    ...(defaultQueueType === undefined ? {} : { default_queue_type: defaultQueueType }),
    limits: { ...limits },
  };
}

const vhostLimitsComponent = 'vhost-limits';

export interface SnapshotSources {
  definitions: Definitions;
  /** `GET /api/vhosts` with settings; the export of 3.10 lacks tags, description and tracing. */
  vhosts?: ListedVhost[];
  /** User limits by user, when the export has none (brokers before 3.10). */
  userLimits?: Map<string, Record<string, number>>;
  /** Vhost contents exported one vhost at a time (fallback path), by vhost. */
  vhostDefinitions?: Map<string, Definitions>;
  unreadableVhosts?: Iterable<string>;
  /** `GET /api/operator-policies`: the definitions export has no operator policies. */
  operatorPolicies?: Policy[];
}

function addVhostContents(
  snapshot: BrokerSnapshot,
  vhost: string | undefined,
  definitions: Definitions,
): void {
  const inVhost = <T extends { vhost?: string }>(item: T): T & { vhost: string } => ({
    ...item,
    vhost: item.vhost ?? vhost ?? '/',
  });
  for (const raw of definitions.queues ?? []) {
    const queue = inVhost(raw);
    snapshot.queues.set(snapshotKeys.queue(queue.vhost, queue.name), {
      name: queue.name,
      vhost: queue.vhost,
      durable: queue.durable,
      auto_delete: queue.auto_delete,
      arguments: queue.arguments,
    });
  }
  for (const raw of definitions.exchanges ?? []) {
    const exchange = inVhost(raw);
    snapshot.exchanges.set(snapshotKeys.exchange(exchange.vhost, exchange.name), {
      name: exchange.name,
      vhost: exchange.vhost,
      type: exchange.type,
      durable: exchange.durable,
      auto_delete: exchange.auto_delete,
      internal: exchange.internal,
      arguments: exchange.arguments,
    });
  }
  for (const raw of definitions.bindings ?? []) {
    const binding = inVhost(raw);
    const value: Binding = {
      vhost: binding.vhost,
      source: binding.source,
      destination: binding.destination,
      destination_type: binding.destination_type,
      routing_key: binding.routing_key,
      arguments: binding.arguments,
    };
    snapshot.addBinding(value);
  }
  for (const raw of definitions.policies ?? []) {
    const policy = inVhost(raw);
    snapshot.policies.set(snapshotKeys.policy(policy.vhost, policy.name), {
      name: policy.name,
      vhost: policy.vhost,
      pattern: policy.pattern,
      definition: policy.definition,
      priority: policy.priority,
      'apply-to': policy['apply-to'],
    });
  }
  for (const raw of definitions.parameters ?? []) {
    const parameter = inVhost(raw);
    if (parameter.component === vhostLimitsComponent) {
      const target = snapshot.vhosts.get(parameter.vhost);
      if (target !== undefined) target.limits = { ...(parameter.value as Record<string, number>) };
      continue;
    }
    snapshot.parameters.set(
      snapshotKeys.parameter(parameter.component, parameter.vhost, parameter.name),
      parameter,
    );
  }
}

/** Indexes what the broker exported. Pure: the same sources give the same snapshot. */
export function buildSnapshot(brokerId: string, fetchedAt: number, sources: SnapshotSources): BrokerSnapshot {
  const { definitions } = sources;
  const snapshot = new BrokerSnapshot(
    brokerId,
    fetchedAt,
    definitions.rabbitmq_version ?? definitions.rabbit_version,
  );
  const listed = new Map((sources.vhosts ?? []).map((vhost) => [vhost.name, vhost]));
  for (const exported of definitions.vhosts ?? []) {
    snapshot.vhosts.set(exported.name, vhostFrom({ ...exported, ...listed.get(exported.name) }, undefined));
  }
  // Vhosts listed but not exported (the per-vhost fallback path has no global vhost list).
  for (const vhost of listed.values()) {
    if (!snapshot.vhosts.has(vhost.name)) snapshot.vhosts.set(vhost.name, vhostFrom(vhost, undefined));
  }
  for (const user of definitions.users ?? []) {
    snapshot.users.set(user.name, {
      name: user.name,
      password_hash: user.password_hash,
      hashing_algorithm: user.hashing_algorithm,
      tags: normaliseTags(user.tags),
      limits: { ...(user.limits ?? sources.userLimits?.get(user.name)) },
    });
  }
  for (const permission of definitions.permissions ?? []) {
    snapshot.permissions.set(snapshotKeys.permission(permission.vhost, permission.user), { ...permission });
  }
  for (const permission of definitions.topic_permissions ?? []) {
    snapshot.topicPermissions.set(
      snapshotKeys.topicPermission(permission.vhost, permission.user, permission.exchange),
      { ...permission },
    );
  }
  for (const policy of sources.operatorPolicies ?? []) {
    snapshot.operatorPolicies.set(snapshotKeys.operatorPolicy(policy.vhost, policy.name), {
      name: policy.name,
      vhost: policy.vhost,
      pattern: policy.pattern,
      definition: policy.definition,
      priority: policy.priority,
      'apply-to': policy['apply-to'],
    });
  }
  addVhostContents(snapshot, undefined, definitions);
  for (const [vhost, perVhost] of sources.vhostDefinitions ?? []) addVhostContents(snapshot, vhost, perVhost);
  for (const vhost of sources.unreadableVhosts ?? []) snapshot.unreadableVhosts.add(vhost);
  return snapshot;
}

/** Keeps the last known objects of vhosts the broker could not export this time. */
export function carryOverUnreadable(next: BrokerSnapshot, previous: BrokerSnapshot | undefined): void {
  if (previous === undefined || next.unreadableVhosts.size === 0) return;
  for (const kind of vhostScopedObjects) {
    const target = next.map(kind) as Map<string, { vhost: string }>;
    for (const [key, value] of previous.map(kind) as Map<string, { vhost: string }>) {
      if (next.unreadableVhosts.has(value.vhost) && !target.has(key)) target.set(key, value);
    }
  }
  for (const binding of previous.allBindings.values()) {
    if (next.unreadableVhosts.has(binding.vhost)) next.addBinding(binding);
  }
}

/**
 * Reads a broker's topology in as few requests as the broker allows: the global export, the vhost
 * list and the operator policies (3 requests, 4 on brokers whose export lacks user limits). When the global export fails (a broker-side bug in one vhost,
 * e.g. 3.10 crashes formatting a binding whose routing key holds `~` and which has arguments),
 * it falls back to one export per vhost so one broken vhost does not blind every other one.
 */
export async function fetchSnapshot(client: ManagementClient): Promise<BrokerSnapshot> {
  const fetchedAt = Date.now();
  const vhostsRequest = client.listVhosts();
  const operatorPoliciesRequest = client.listOperatorPolicies();
  // Handled now: they may fail while definitions() is still pending, which would be an unhandled rejection.
  vhostsRequest.catch(() => undefined);
  operatorPoliciesRequest.catch(() => undefined);
  let definitions: Definitions;
  try {
    definitions = await client.definitions();
  } catch (error) {
    await Promise.allSettled([vhostsRequest, operatorPoliciesRequest]);
    if (!(error instanceof BrokerError && error.reason === 'BrokerInternalError')) throw error;
    return fetchSnapshotPerVhost(client, fetchedAt);
  }
  const vhosts = await vhostsRequest;
  const operatorPolicies = await operatorPoliciesRequest;
  const userLimits = (definitions.users ?? []).some((user) => user.limits === undefined)
    ? await client.listUserLimits()
    : undefined;
  return buildSnapshot(client.brokerId, fetchedAt, {
    definitions,
    vhosts,
    operatorPolicies,
    ...(userLimits ? { userLimits } : {}),
  });
}

async function fetchSnapshotPerVhost(client: ManagementClient, fetchedAt: number): Promise<BrokerSnapshot> {
  const [vhosts, users, permissions, topicPermissions, userLimits, operatorPolicies] = await Promise.all([
    client.listVhosts(),
    client.listUsers(),
    client.listPermissions(),
    client.listTopicPermissions(),
    client.listUserLimits(),
    client.listOperatorPolicies(),
  ]);
  const vhostDefinitions = new Map<string, Definitions>();
  const unreadableVhosts: string[] = [];
  await Promise.all(
    vhosts.map(async (vhost) => {
      try {
        vhostDefinitions.set(vhost.name, await client.vhostDefinitions(vhost.name));
      } catch (error) {
        if (!(error instanceof BrokerError && error.reason === 'BrokerInternalError')) throw error;
        unreadableVhosts.push(vhost.name);
      }
    }),
  );
  return buildSnapshot(client.brokerId, fetchedAt, {
    definitions: { users, permissions, topic_permissions: topicPermissions },
    vhosts,
    userLimits,
    operatorPolicies,
    vhostDefinitions,
    unreadableVhosts,
  });
}
