// Performs a kind's planned writes through the management client, which applies each successful write to
// the shared snapshot (so the next reconcile of this broker sees it without a refetch). Each write carries the
// reconcile's signal: an abandoned reconcile writes nothing more.
import type { ManagementClient } from '../rabbitmq/management.ts';
import type { BrokerOp } from './kinds/types.ts';

export async function execute(client: ManagementClient, op: BrokerOp, signal?: AbortSignal): Promise<void> {
  switch (op.op) {
    case 'putVhost':
      return client.putVhost(op.name, op.settings, signal);
    case 'deleteVhost':
      await client.deleteVhost(op.name, signal);
      return;
    case 'putVhostLimit':
      return client.putVhostLimit(op.vhost, op.limit, op.value, signal);
    case 'deleteVhostLimit':
      await client.deleteVhostLimit(op.vhost, op.limit, signal);
      return;
    case 'putUser':
      return client.putUser(op.name, op.settings, signal);
    case 'deleteUser':
      await client.deleteUser(op.name, signal);
      return;
    case 'putUserLimit':
      return client.putUserLimit(op.user, op.limit, op.value, signal);
    case 'deleteUserLimit':
      await client.deleteUserLimit(op.user, op.limit, signal);
      return;
    case 'putPermission':
      return client.putPermission(op.vhost, op.user, op.settings, signal);
    case 'deletePermission':
      await client.deletePermission(op.vhost, op.user, signal);
      return;
    case 'putExchange':
      return client.putExchange(op.vhost, op.name, op.settings, signal);
    case 'deleteExchange':
      await client.deleteExchange(op.vhost, op.name, {}, signal);
      return;
    case 'putQueue':
      return client.putQueue(op.vhost, op.name, op.settings, signal);
    case 'deleteQueue':
      await client.deleteQueue(op.vhost, op.name, { ifEmpty: op.ifEmpty, ifUnused: op.ifUnused }, signal);
      return;
    case 'createBinding':
      await client.createBinding(op.binding, signal);
      return;
    case 'deleteBinding':
      await client.deleteBinding(op.binding, signal);
      return;
    case 'putPolicy':
      return client.putPolicy(op.vhost, op.name, op.settings, signal);
    case 'deletePolicy':
      await client.deletePolicy(op.vhost, op.name, signal);
      return;
  }
}

/** Runs writes one after another (a vhost before its limits), stopping at the first failure. */
export async function executeAll(
  client: ManagementClient,
  ops: readonly BrokerOp[],
  signal?: AbortSignal,
): Promise<void> {
  for (const op of ops) await execute(client, op, signal);
}
