// Every kind Warren serves, in dependency order (a cluster before the objects inside it).
import { bindingResource } from './binding.ts';
import { exchangeResource } from './exchange.ts';
import { federationResource } from './federation.ts';
import { permissionResource } from './permission.ts';
import { operatorPolicyResource } from './operator-policy.ts';
import { policyResource } from './policy.ts';
import { queueResource } from './queue.ts';
import { rabbitmqClusterResource } from './rabbitmq-cluster.ts';
import { superStreamResource } from './super-stream.ts';
import { shovelResource } from './shovel.ts';
import { topicPermissionResource } from './topic-permission.ts';
import { userResource } from './user.ts';
import { vhostResource } from './vhost.ts';

export const kinds = [
  rabbitmqClusterResource,
  vhostResource,
  userResource,
  permissionResource,
  topicPermissionResource,
  exchangeResource,
  queueResource,
  superStreamResource,
  bindingResource,
  policyResource,
  operatorPolicyResource,
  shovelResource,
  federationResource,
] as const;

export type AnyResource = (typeof kinds)[number];
export type KindName = AnyResource['kind'];

export function resourceFor<K extends KindName>(kind: K): Extract<AnyResource, { kind: K }> {
  const found = kinds.find((definition) => definition.kind === kind);
  if (!found) throw new Error(`unknown kind ${kind}`);
  return found as Extract<AnyResource, { kind: K }>;
}
