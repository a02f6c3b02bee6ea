// The Secret a Shovel or Federation names in spec.uriSecret: AMQP URIs with credentials, read on every
// reconcile and never copied anywhere but into the broker's parameter. A change to the Secret wakes the object
// (it depends on the Secret), so a rotated password reaches the broker within seconds.
import { createHash } from 'node:crypto';
import { targets } from '../dependencies.ts';
import type { Prepare, References } from './types.ts';

interface NamesUriSecret {
  uriSecret: { name: string };
}

/** Reads the uriSecret, whether it exists or not: `desired` says what is wrong with it (see `secretUris`). */
export function prepareUriSecret(keys: readonly string[]): Prepare<NamesUriSecret> {
  return async (obj, spec, _connection, ctx) => {
    const namespace = obj.metadata.namespace ?? '';
    const name = spec.uriSecret.name;
    const data = await ctx.secret(namespace, name, ctx.signal);
    // A digest of the URIs in use tells a Secret change (an update) from drift (a restore), without keeping them.
    const revision = createHash('sha256')
      .update(JSON.stringify(keys.map((key) => data?.[key] ?? null)))
      .digest('base64url');
    return {
      refs: { ...ctx.references, secretData: () => data },
      revision,
      dependsOn: [targets.secret({ namespace, name })],
    };
  };
}

/**
 * The URIs under `key` of the uriSecret (a comma-separated list), or why there are none. The message names the
 * Secret and the key, never a value.
 */
export function secretUris(
  refs: References,
  secretName: string,
  key: string,
): { ok: true; uris: string[] } | { ok: false; reason: string; message: string } {
  const data = refs.secretData?.();
  if (data === undefined) {
    return {
      ok: false,
      reason: 'SecretNotFound',
      message: `Secret "${secretName}" (spec.uriSecret) does not exist; it must hold the key ${key}.`,
    };
  }
  const uris = (data[key] ?? '')
    .split(',')
    .map((uri) => uri.trim())
    .filter((uri) => uri !== '');
  if (uris.length === 0) {
    return {
      ok: false,
      reason: 'SecretInvalid',
      message: `Secret "${secretName}" (spec.uriSecret) lacks the key ${key}, or it is empty; set it to an AMQP URI.`,
    };
  }
  return { ok: true, uris };
}
