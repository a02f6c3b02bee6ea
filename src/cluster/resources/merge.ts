// A small strategic merge patch, enough for `override.statefulSet` and `override.service`.
//
// Semantics follow Kubernetes' strategic merge for the fields that matter in those overrides:
// - maps merge recursively; `null` removes a key;
// - lists of named things merge by their Kubernetes merge key (containers by name, volumeMounts by
//   mountPath, container ports by containerPort, Service ports by port, …); other lists are replaced;
// - a list item `{$patch: delete, <key>: …}` removes the matching item, a list item `{$patch: replace}`
//   makes the rest of the list replace the original, a map with `$patch: replace` replaces the map and
//   `$patch: delete` removes it;
// - one deliberate extension kept from the upstream operator: `securityContext: {}` removes the
//   operator's security context (the OpenShift recipe, where the platform assigns the user).

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const mergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  volumeClaimTemplates: 'metadata.name',
  resourceClaims: 'name',
};

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeKeyFor(field: string, items: Json[]): string | undefined {
  if (field === 'ports') {
    // Container ports merge by containerPort, Service ports by port.
    return items.some((item) => isObject(item) && 'containerPort' in item) ? 'containerPort' : 'port';
  }
  return mergeKeys[field];
}

function keyOf(item: Json, key: string): Json | undefined {
  let value: Json | undefined = item;
  for (const part of key.split('.')) value = isObject(value) ? value[part] : undefined;
  return value;
}

function mergeList(field: string, base: Json[], patch: Json[]): Json[] {
  const key = mergeKeyFor(field, [...base, ...patch]);
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace'));
  }
  if (!key) return patch;
  const result = [...base];
  for (const item of patch) {
    const id = keyOf(item, key);
    const index = id === undefined ? -1 : result.findIndex((existing) => keyOf(existing, key) === id);
    if (isObject(item) && item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = mergeValue(field, result[index] ?? null, item);
    else result.push(withoutDirectives(item));
  }
  return result;
}

function withoutDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutDirectives);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== '$patch')
      .map(([key, inner]) => [key, withoutDirectives(inner)]),
  );
}

function mergeValue(field: string, base: Json, patch: Json): Json {
  if (Array.isArray(patch))
    return Array.isArray(base) ? mergeList(field, base, patch) : withoutDirectives(patch);
  if (isObject(patch)) {
    if (patch.$patch === 'replace') return withoutDirectives(patch);
    return isObject(base) ? mergeObject(base, patch) : withoutDirectives(patch);
  }
  return patch;
}

function mergeObject(base: JsonObject, patch: JsonObject): JsonObject {
  const removed = new Set<string>();
  const merged: JsonObject = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch') continue;
    const removeSecurityContext =
      key === 'securityContext' && isObject(value) && Object.keys(value).length === 0;
    if (value === null || removeSecurityContext || (isObject(value) && value.$patch === 'delete')) {
      removed.add(key);
      continue;
    }
    merged[key] = key in base ? mergeValue(key, base[key] ?? null, value) : withoutDirectives(value);
  }
  // Keys keep their original order; new keys follow.
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(base)) if (!removed.has(key)) result[key] = merged[key] ?? value;
  for (const [key, value] of Object.entries(merged)) if (!(key in base)) result[key] = value;
  return result;
}

/** Applies `patch` on top of `base` as a strategic merge patch; neither input is modified. */
export function strategicMerge<T extends object>(base: T, patch: Record<string, unknown> | undefined): T {
  if (!patch) return base;
  // Round-trip through JSON: the builders' output is plain JSON, and this drops `undefined` values.
  const plainBase = JSON.parse(JSON.stringify(base)) as JsonObject;
  const plainPatch = JSON.parse(JSON.stringify(patch)) as JsonObject;
  return mergeObject(plainBase, plainPatch) as T;
}
