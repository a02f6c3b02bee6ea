// Performs a kind's planned writes through the management client, which applies each successful write to
// the shared snapshot (so the next reconcile of this broker sees it without a refetch).
import type { ManagementClient } from '../rabbitmq/management.ts';
import type { BrokerOp } from './kinds/types.ts';

export async function execute(client: ManagementClient, op: BrokerOp): Promise<void> {
  switch (op.op) {
    case 'putVhost':
      return client.putVhost(op.name, op.settings);
    case 'deleteVhost':
      await client.deleteVhost(op.name);
      return;
    case 'putVhostLimit':
      return client.putVhostLimit(op.vhost, op.limit, op.value);
    case 'deleteVhostLimit':
      await client.deleteVhostLimit(op.vhost, op.limit);
      return;
    case 'putUser':
      return client.putUser(op.name, op.settings);
    case 'deleteUser':
      await client.deleteUser(op.name);
      return;
    case 'putUserLimit':
      return client.putUserLimit(op.user, op.limit, op.value);
    case 'deleteUserLimit':
      await client.deleteUserLimit(op.user, op.limit);
      return;
    case 'putPermission':
      return client.putPermission(op.vhost, op.user, op.settings);
    case 'deletePermission':
      await client.deletePermission(op.vhost, op.user);
      return;
    case 'putExchange':
      return client.putExchange(op.vhost, op.name, op.settings);
    case 'deleteExchange':
      await client.deleteExchange(op.vhost, op.name);
      return;
    case 'putQueue':
      return client.putQueue(op.vhost, op.name, op.settings);
    case 'deleteQueue':
      await client.deleteQueue(op.vhost, op.name, { ifEmpty: op.ifEmpty, ifUnused: op.ifUnused });
      return;
    case 'createBinding':
      await client.createBinding(op.binding);
      return;
    case 'deleteBinding':
      await client.deleteBinding(op.binding);
      return;
    case 'putPolicy':
      return client.putPolicy(op.vhost, op.name, op.settings);
    case 'deletePolicy':
      await client.deletePolicy(op.vhost, op.name);
      return;
  }
}

/** Runs writes one after another (a vhost before its limits), stopping at the first failure. */
export async function executeAll(client: ManagementClient, ops: readonly BrokerOp[]): Promise<void> {
  for (const op of ops) await execute(client, op);
}
