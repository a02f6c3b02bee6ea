// The test node's volume provisioner, run as its own process: `node provisioner.ts KUBECONFIG VOLUMES_DIR`.
//
// A claim of the default StorageClass gets a `local` PersistentVolume on a fresh directory under VOLUMES_DIR once
// the scheduler has picked the node for its pod (WaitForFirstConsumer); the volume controller binds the two. When a
// claim is deleted, its released volume and its directory go too. Data therefore survives a pod's restart and
// deletion for as long as its claim exists, as on any node with local disks.
import { request } from 'node:https';
import { mkdirSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';

export const STORAGE_CLASS = { name: 'warren-local', provisioner: 'warren.dev/local-path' } as const;
const NODE_NAME = 'warren-node';
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';

interface Claim {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> };
  spec: {
    storageClassName?: string;
    accessModes?: string[];
    resources?: { requests?: { storage?: string } };
  };
  status?: { phase?: string };
}
interface Volume {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { local?: { path: string } };
  status?: { phase?: string };
}

function apiClient(kubeconfigPath: string) {
  const config = parse(readFileSync(kubeconfigPath, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const server = new URL(config.clusters[0]!.cluster.server);
  const tls = {
    ca: b64(config.clusters[0]!.cluster['certificate-authority-data']),
    cert: b64(config.users[0]!.user['client-certificate-data']),
    key: b64(config.users[0]!.user['client-key-data']),
  };
  return (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> =>
    new Promise((resolve, reject) => {
      const req = request(
        new URL(path, server),
        { method, ...tls, headers: { 'content-type': 'application/json' }, timeout: 10_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = text;
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
}

export function volumeFor(claim: Claim, volumesDir: string): unknown {
  const name = `pvc-${claim.metadata.uid}`;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { [PROVISIONED_BY]: STORAGE_CLASS.provisioner } },
    spec: {
      capacity: { storage: claim.spec.resources?.requests?.storage ?? '1Gi' },
      accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: STORAGE_CLASS.name,
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: claim.metadata.namespace,
        name: claim.metadata.name,
        uid: claim.metadata.uid,
      },
      local: { path: join(volumesDir, name) },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE_NAME] }] },
          ],
        },
      },
    },
  };
}

/** One pass: provision what waits for us, delete what was released. */
async function reconcile(api: ReturnType<typeof apiClient>, volumesDir: string): Promise<void> {
  const claims = (await api('GET', '/api/v1/persistentvolumeclaims')).json as { items?: Claim[] };
  for (const claim of claims.items ?? []) {
    const annotations = claim.metadata.annotations ?? {};
    const ours =
      annotations['volume.kubernetes.io/storage-provisioner'] === STORAGE_CLASS.provisioner ||
      annotations['volume.beta.kubernetes.io/storage-provisioner'] === STORAGE_CLASS.provisioner;
    if (!ours || claim.status?.phase !== 'Pending') continue;
    if (annotations['volume.kubernetes.io/selected-node'] !== NODE_NAME) continue;
    const volume = volumeFor(claim, volumesDir) as { spec: { local: { path: string } } };
    mkdirSync(volume.spec.local.path, { recursive: true });
    chmodSync(volume.spec.local.path, 0o777);
    const created = await api('POST', '/api/v1/persistentvolumes', volume);
    if (created.status >= 300 && created.status !== 409) {
      process.stderr.write(
        `creating the volume of ${claim.metadata.namespace}/${claim.metadata.name}: ${created.status}\n`,
      );
    } else if (created.status < 300) {
      process.stdout.write(`provisioned ${claim.metadata.namespace}/${claim.metadata.name}\n`);
    }
  }
  const volumes = (await api('GET', '/api/v1/persistentvolumes')).json as { items?: Volume[] };
  for (const volume of volumes.items ?? []) {
    if (volume.metadata.annotations?.[PROVISIONED_BY] !== STORAGE_CLASS.provisioner) continue;
    if (volume.status?.phase !== 'Released' && volume.status?.phase !== 'Failed') continue;
    const path = volume.spec.local?.path;
    if (path?.startsWith(volumesDir + '/')) rmSync(path, { recursive: true, force: true });
    await api('DELETE', `/api/v1/persistentvolumes/${volume.metadata.name}`);
    process.stdout.write(`deleted ${volume.metadata.name}\n`);
  }
}

if (import.meta.main) {
  const [kubeconfigPath, volumesDir] = process.argv.slice(2);
  if (!kubeconfigPath || !volumesDir) {
    process.stderr.write('usage: node provisioner.ts KUBECONFIG VOLUMES_DIR\n');
    process.exit(2);
  }
  const api = apiClient(kubeconfigPath);
  process.on('SIGTERM', () => process.exit(0));
  for (;;) {
    try {
      await reconcile(api, volumesDir);
    } catch (err) {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    }
    await sleep(1000);
  }
}
