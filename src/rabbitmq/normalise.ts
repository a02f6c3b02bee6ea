// How broker values are compared: one definition each of a tag set, an argument map and canonical JSON,
// used by the kinds (desired vs live), the client (which binding to delete) and the snapshot (keys, drift).
// Two values that mean the same to the broker normalise to the same thing here, so a resync writes nothing.

/** Tags as a sorted set, whether given as an array or as the broker's comma-separated string. */
export function normaliseTags(tags: readonly unknown[] | string | undefined): string[] {
  const list = typeof tags === 'string' ? tags.split(',') : (tags ?? []);
  const names = list.filter((tag): tag is string => typeof tag === 'string').map((tag) => tag.trim());
  return [...new Set(names.filter((tag) => tag !== ''))].sort();
}

/** A value with the keys of every object in it sorted: equal JSON values become identical. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, sortedKeys(record[key])]),
  );
}

/** Canonical JSON (object keys sorted at every depth): equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedKeys(value));
}

/** Structural equality of JSON values, ignoring key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Argument maps (queue, exchange, binding arguments): absent is the same as empty. */
export function sameArguments(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): boolean {
  return sameJson(a ?? {}, b ?? {});
}

/** The keys whose values differ between two argument maps, sorted. */
export function differingKeys(a: Record<string, unknown> = {}, b: Record<string, unknown> = {}): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => !sameJson(a[key], b[key])).sort();
}
