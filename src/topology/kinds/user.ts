// User: identity (username, from the credentials Secret); password, tags and limits are updated in place.
// The password is compared by hashing it with the salt of the stored hash, so an unchanged password is never
// rewritten, and it never appears in a change list, an Event or a message.
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import { userResource, type UserSpec } from '../../api/index.ts';
import type { User } from '../../rabbitmq/types.ts';
import { normaliseTags, sameJson } from '../../rabbitmq/normalise.ts';
import { limitChanges, limitOps } from './common.ts';
import { prepareUser } from './user-credentials.ts';
import type { BrokerOp, SecretOps, TopologyKind, UserCredentials } from './types.ts';

export interface UserWant {
  name: string;
  credentials: UserCredentials;
  tags: string[];
  limits: Record<string, number>;
}

/** The algorithm assumed for an imported `passwordHash`: the broker's default, and `rabbitmqctl hash_password`'s. */
export const importedHashAlgorithm = 'rabbit_password_hashing_sha256';

function settingChanges(live: User, want: UserWant, secrets: SecretOps): string[] {
  const changes: string[] = [];
  if (!sameJson(normaliseTags(live.tags), want.tags)) changes.push('tags');
  const { password, passwordHash } = want.credentials;
  const passwordDiffers =
    passwordHash !== undefined
      ? live.password_hash !== passwordHash ||
        (passwordHash !== '' && live.hashing_algorithm !== importedHashAlgorithm)
      : !secrets.passwordMatches(password ?? '', live.password_hash, live.hashing_algorithm);
  if (passwordDiffers) changes.push('password');
  return changes;
}

export const userKind: TopologyKind<UserSpec, UserWant, User> = {
  kind: 'User',
  resource: userResource,
  prepare: prepareUser,
  // Without its credentials Secret a User still knows the username it was created under (its status).
  deletionWant: (obj) => {
    const username = (obj.status as { username?: unknown } | undefined)?.username;
    return typeof username === 'string' && username !== ''
      ? { name: username, credentials: { username }, tags: [], limits: {} }
      : undefined;
  },
  deletionPolicy: () => 'delete',
  desired: (spec, refs) => {
    const credentials = refs.credentials();
    if (!credentials) {
      return {
        ok: false,
        reason: 'CredentialsNotFound',
        message: spec.importCredentialsSecret
          ? `Secret "${spec.importCredentialsSecret.name}" does not exist or lacks the keys username and password (or passwordHash).`
          : 'The generated credentials Secret is not available yet.',
      };
    }
    const limits: Record<string, number> = {};
    if (spec.limits?.connections !== undefined) limits['max-connections'] = spec.limits.connections;
    if (spec.limits?.channels !== undefined) limits['max-channels'] = spec.limits.channels;
    return {
      ok: true,
      want: { name: credentials.username, credentials, tags: normaliseTags(spec.tags), limits },
    };
  },
  brokerKey: (u) => ({ kind: 'user', key: snapshotKeys.user(u.name) }),
  describe: (u) => `user "${u.name}"`,
  dependencies: () => [],
  live: (state, u) => state.user(u.name),
  compare: (live, want, secrets) => ({
    changes: [...settingChanges(live, want, secrets), ...limitChanges(want.limits, live.limits)],
  }),
  write: (want, live, secrets) => {
    const ops: BrokerOp[] = [];
    if (!live || settingChanges(live, want, secrets).length > 0) {
      const { password, passwordHash } = want.credentials;
      const hash =
        passwordHash !== undefined
          ? { password_hash: passwordHash, hashing_algorithm: importedHashAlgorithm }
          : secrets.hashPassword(password ?? '');
      ops.push({ op: 'putUser', name: want.name, settings: { ...hash, tags: want.tags } });
    }
    ops.push(...limitOps({ user: want.name }, want.limits, live?.limits ?? {}));
    return ops;
  },
  deletion: (want, _policy, fresh) =>
    fresh === undefined
      ? { action: 'gone' }
      : { action: 'delete', ops: [{ op: 'deleteUser', name: want.name }] },
};
