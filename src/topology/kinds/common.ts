// Small pure helpers shared by the kind definitions.
import { isDeepStrictEqual } from 'node:util';
import type { BrokerOp } from './types.ts';

/** Tags as a sorted set, whether given as an array or a comma-separated string. */
export function tagList(tags: readonly string[] | string | undefined): string[] {
  const list = typeof tags === 'string' ? tags.split(',') : (tags ?? []);
  return [...new Set(list.map((t) => t.trim()).filter((t) => t !== ''))].sort();
}

/** Structural equality of JSON values, ignoring key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(canonical(a), canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** The keys whose values differ between two argument maps, sorted. */
export function differingKeys(a: Record<string, unknown> = {}, b: Record<string, unknown> = {}): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !sameJson(a[k], b[k])).sort();
}

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
