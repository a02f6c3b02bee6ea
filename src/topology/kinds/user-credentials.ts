// A User's credentials: generated once into a Secret the User owns, or imported from a Secret the user
// manages. Either way the password (or hash) is read from the Secret on every reconcile, so changing the
// Secret rotates the password on the broker within seconds, and nothing is ever regenerated.
import { createHash, randomBytes } from 'node:crypto';
import { watchedLabel, type UserSpec } from '../../api/index.ts';
import { controllerOwnerRef } from '../../runtime/apply.ts';
import { isAlreadyExists } from '../../runtime/kube-client.ts';
import { coreResources } from '../../runtime/resource.ts';
import type { ResolvedConnection, SecretData } from '../connections.ts';
import { targets } from '../dependencies.ts';
import type { Prepare, UserCredentials } from './types.ts';

/** base64url of 24 random bytes (32 characters), as upstream generates usernames and passwords. */
export function randomCredential(): string {
  return randomBytes(24).toString('base64url');
}

export function generatedSecretName(userName: string): string {
  return `${userName}-user-credentials`;
}

/** `amqp://user:password@host:port/` for clients of a Warren cluster. */
export function connectionString(
  username: string,
  password: string,
  amqp: NonNullable<ResolvedConnection['amqp']>,
): string {
  const scheme = amqp.tls ? 'amqps' : 'amqp';
  return `${scheme}://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${amqp.host}:${amqp.port}/`;
}

/** Credentials from an imported Secret, or why it cannot be used (the message names keys, never values). */
export function importedCredentials(data: SecretData): UserCredentials | string {
  const username = data.username;
  if (!username) return 'it lacks the key username';
  if (data.passwordHash !== undefined) return { username, passwordHash: data.passwordHash };
  if (data.password !== undefined) return { username, password: data.password };
  return 'it lacks the key password (or passwordHash)';
}

/** A digest of the credentials that tells whether they changed, without keeping them. */
function revision(credentials: UserCredentials): string {
  return createHash('sha256').update(JSON.stringify(credentials)).digest('base64url');
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Reads (or first generates) a User's credentials Secret before its desired state is computed. */
export const prepareUser: Prepare<UserSpec> = async (obj, spec, connection, ctx) => {
  const { signal } = ctx;
  const namespace = obj.metadata.namespace ?? '';
  const refs = (credentials: UserCredentials) => ({
    userName: (name: string) => ctx.references.userName(name),
    credentials: () => credentials,
  });

  /** The User as the credentials in Secret `name` make it, or why they cannot be used. */
  const fromSecret = (name: string, data: Record<string, string>) => {
    const credentials = importedCredentials(data);
    if (typeof credentials === 'string') {
      return { reason: 'CredentialsInvalid', message: `Secret "${name}" cannot be used: ${credentials}.` };
    }
    return {
      refs: refs(credentials),
      status: { username: credentials.username, credentials: { name } },
      revision: revision(credentials),
      dependsOn: [targets.secret({ namespace, name })],
    };
  };

  if (spec.importCredentialsSecret) {
    const name = spec.importCredentialsSecret.name;
    const data = await ctx.secret(namespace, name, signal);
    if (!data) return { reason: 'CredentialsNotFound', message: `Secret "${name}" does not exist.` };
    return fromSecret(name, data);
  }

  const name = generatedSecretName(obj.metadata.name ?? '');
  let data = await ctx.secret(namespace, name, signal);
  if (!data) {
    const username = randomCredential();
    const password = randomCredential();
    data = {
      username,
      password,
      ...(connection.amqp
        ? { connection_string: connectionString(username, password, connection.amqp) }
        : {}),
    };
    try {
      await ctx.kube.create(
        coreResources.secret,
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name,
            namespace,
            labels: { [watchedLabel]: 'true', 'app.kubernetes.io/managed-by': 'warren' },
            // No blockOwnerDeletion: it needs finalizer rights on Users that OpenShift does not grant by default.
            ownerReferences: [{ ...controllerOwnerRef(obj), blockOwnerDeletion: false }],
          },
          type: 'Opaque',
          data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, base64(v)])),
        },
        { signal },
      );
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      data = await ctx.secret(namespace, name, signal);
      if (!data) throw error;
    }
  }
  return fromSecret(name, data);
};
