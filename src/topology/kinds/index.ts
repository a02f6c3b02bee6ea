// Every topology kind Warren serves, in dependency order. Registering a kind is one line here (and its
// resource in src/api/kinds.ts); the controllers derive everything else from its definition.
import { bindingKind } from './binding.ts';
import { exchangeKind } from './exchange.ts';
import { operatorPolicyKind } from './operator-policy.ts';
import { permissionKind } from './permission.ts';
import { policyKind } from './policy.ts';
import { queueKind } from './queue.ts';
import { superStreamKind } from './super-stream.ts';
import { federationKind } from './federation.ts';
import { shovelKind } from './shovel.ts';
import { topicPermissionKind } from './topic-permission.ts';
import type { TopologyKind } from './types.ts';
import { userKind } from './user.ts';
import { vhostKind } from './vhost.ts';

// The reconciler is generic over each kind's own types; the list only needs to hold them side by side.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTopologyKind = TopologyKind<any, any, any>;

export const topologyKinds: readonly AnyTopologyKind[] = [
  vhostKind,
  userKind,
  permissionKind,
  topicPermissionKind,
  exchangeKind,
  queueKind,
  superStreamKind,
  bindingKind,
  policyKind,
  operatorPolicyKind,
  shovelKind,
  federationKind,
];
