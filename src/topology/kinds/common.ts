// Small pure helpers shared by the kind definitions.
import { isDeepStrictEqual } from 'node:util';

/** A management API path from segments, each percent-encoded (`/` as a vhost name becomes `%2F`). */
export function apiPath(...segments: string[]): string {
  return '/api/' + segments.map((s) => encodeURIComponent(s)).join('/');
}

/** Tags as a sorted list, whether the broker reports an array or a comma-separated string. */
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

/** Renders a value for a message: short, JSON, `(unset)` when absent. */
export function show(value: unknown): string {
  return value === undefined ? '(unset)' : JSON.stringify(value);
}

/** Limit requests that take `live` to `want`: a PUT per changed limit, a DELETE per limit no longer wanted. */
export function limitRequests(
  base: string[],
  want: Record<string, number>,
  live: Record<string, number> | undefined,
): { method: 'PUT' | 'DELETE'; path: string; body?: unknown }[] {
  const current = live ?? {};
  const requests: { method: 'PUT' | 'DELETE'; path: string; body?: unknown }[] = [];
  for (const [name, value] of Object.entries(want)) {
    if (current[name] !== value)
      requests.push({ method: 'PUT', path: apiPath(...base, name), body: { value } });
  }
  for (const name of Object.keys(current)) {
    if (!(name in want)) requests.push({ method: 'DELETE', path: apiPath(...base, name) });
  }
  return requests;
}

/** The limit names that differ between `want` and `live`, as `limits.<name>`. */
export function limitChanges(
  want: Record<string, number>,
  live: Record<string, number> | undefined,
): string[] {
  return differingKeys(want, live ?? {}).map((k) => `limits.${k}`);
}

/** Drops undefined values so optional spec fields compare equal to absent broker fields. */
export function defined<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;
}
