// Small pure helpers shared by the kind definitions.
import { differingKeys } from '../../rabbitmq/normalise.ts';
import type { BrokerOp } from './types.ts';

/** Renders a value for a message: short JSON, `(unset)` when absent. */
export function show(value: unknown): string {
  return value === undefined ? '(unset)' : JSON.stringify(value);
}

/** The limit names that differ between `want` and `live`, as `limits.<name>`. */
export function limitChanges(want: Record<string, number>, live: Record<string, number>): string[] {
  return differingKeys(want, live).map((k) => `limits.${k}`);
}

/** Writes that take the limits from `live` to `want`: one per changed limit, one per limit no longer wanted. */
export function limitOps(
  scope: { vhost: string } | { user: string },
  want: Record<string, number>,
  live: Record<string, number>,
): BrokerOp[] {
  const ops: BrokerOp[] = [];
  for (const [limit, value] of Object.entries(want)) {
    if (live[limit] === value) continue;
    ops.push(
      'vhost' in scope
        ? { op: 'putVhostLimit', vhost: scope.vhost, limit, value }
        : { op: 'putUserLimit', user: scope.user, limit, value },
    );
  }
  for (const limit of Object.keys(live)) {
    if (limit in want) continue;
    ops.push(
      'vhost' in scope
        ? { op: 'deleteVhostLimit', vhost: scope.vhost, limit }
        : { op: 'deleteUserLimit', user: scope.user, limit },
    );
  }
  return ops;
}
