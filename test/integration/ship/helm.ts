// The helm binary built by test/env/testbins/build.sh (cached per version; HELM_BIN_DIR points at a prebuilt one),
// and small wrappers the chart tests share.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoRoot = join(import.meta.dirname, '../../..');
export const chartDir = join(repoRoot, 'charts/warren');

let helmPath: string | undefined;

export function helmBinary(): string {
  if (helmPath) return helmPath;
  let dir = process.env.HELM_BIN_DIR;
  if (!dir) {
    const build = spawnSync('bash', [join(repoRoot, 'test/env/testbins/build.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (build.status !== 0) throw new Error('test/env/testbins/build.sh failed; see its message above');
    dir = /^HELM_BIN_DIR=(.*)$/m.exec(build.stdout)?.[1];
    if (!dir) throw new Error('test/env/testbins/build.sh printed no HELM_BIN_DIR');
  }
  helmPath = join(dir, 'helm');
  return helmPath;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function helm(args: readonly string[], env: NodeJS.ProcessEnv = process.env): HelmResult {
  const result = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    env: { ...env, HELM_CACHE_HOME: '/tmp/warren-helm/cache', HELM_CONFIG_HOME: '/tmp/warren-helm/config' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function helmOk(args: readonly string[], env?: NodeJS.ProcessEnv): string {
  const result = helm(args, env);
  if (result.status !== 0)
    throw new Error(`helm ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null);
}

/** An API version a cluster of Kubernetes 1.36 serves and `helm template` does not assume. */
export const admissionPolicyApi = 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy';
/** Served since Kubernetes 1.30; helm template does not assume it either. */
export const podWritePolicyApi = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';

/**
 * Renders the chart as release `warren` in namespace `warren-system`, with --set style values, for a cluster
 * that serves `apiVersions` besides those helm assumes.
 */
export function template(
  values: readonly string[] = [],
  namespace = 'warren-system',
  apiVersions: readonly string[] = [],
): Manifest[] {
  const args = ['template', 'warren', chartDir, '--namespace', namespace];
  for (const value of values) args.push('--set-json', value);
  for (const apiVersion of apiVersions) args.push('--api-versions', apiVersion);
  return parseManifests(helmOk(args));
}

/**
 * `helm install` of the chart with an image that the test node holds (never pulled), waiting until the operator
 * pod is Ready; returns the seconds that took. `values` are extra --set-json values.
 */
export function installOnNode(options: {
  release: string;
  namespace: string;
  image: string;
  values?: readonly string[];
}): number {
  const [repository, tag] = options.image.split(/:(?=[^:/]+$)/);
  const started = Date.now();
  const args = [
    'install',
    options.release,
    chartDir,
    '--namespace',
    options.namespace,
    '--wait',
    '--timeout',
    '180s',
  ];
  const values = [
    `image.repository=${JSON.stringify(repository)}`,
    `image.tag=${JSON.stringify(tag)}`,
    'image.pullPolicy="Never"',
    ...(options.values ?? []),
  ];
  for (const value of values) args.push('--set-json', value);
  helmOk(args);
  return (Date.now() - started) / 1000;
}
