// The official RabbitMQ messaging topology operator, as `npm run bench -- compare` runs it beside Warren:
// built by `go build` from its Go module at the version test/env/testbins/topology-operator/go.mod pins
// (test/env/testbins/build.sh topology-operator, cached outside the clone), its CRDs from the same module, and
// the mix of topology-mix.ts written as its rabbitmq.com/v1beta1 resources under the same names.
//
// It runs as its manifests ship it, webhooks aside: one reconcile at a time per kind, development (debug)
// logging, Go's default memory settings, in the same memory cgroup as Warren.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import type { KubeObject, ResourceRef } from '../../src/runtime/resource.ts';
import { freePorts } from '../env/net.ts';
import { inheritedEnv, log, repoRoot, startOperatorProcess, type Operator } from './harness.ts';
import type { MixKind, MixObject, MixSpec } from './topology-mix.ts';

const group = 'rabbitmq.com';
const version = 'v1beta1';

function resource(kind: MixKind, plural: string): ResourceRef {
  return { group, version, plural, kind, namespaced: true };
}

/** The official operator's resource of each kind of the mix. */
export const officialResources: Record<MixKind, ResourceRef> = {
  Vhost: resource('Vhost', 'vhosts'),
  User: resource('User', 'users'),
  Permission: resource('Permission', 'permissions'),
  Exchange: resource('Exchange', 'exchanges'),
  Queue: resource('Queue', 'queues'),
  Binding: resource('Binding', 'bindings'),
  Policy: resource('Policy', 'policies'),
};

/**
 * The spec fields of the official v1beta1 kinds that the mix may use, each meaning there what it means in
 * Warren's (the mix's vhost `limits` is the official `limits` with `queues`; the rest share names).
 */
const officialSpecFields: Record<MixKind, readonly (keyof MixSpec)[]> = {
  Vhost: ['name', 'tags', 'limits'],
  User: ['tags'],
  Permission: ['vhost', 'userReference', 'permissions'],
  Exchange: ['name', 'vhost', 'type', 'durable', 'arguments'],
  Queue: ['name', 'vhost', 'type', 'durable', 'arguments'],
  Binding: ['vhost', 'source', 'destination', 'destinationType', 'routingKey', 'arguments'],
  Policy: ['name', 'vhost', 'pattern', 'applyTo', 'priority', 'definition'],
};

const officialVhostLimits = ['connections', 'queues'];

/**
 * A mix object as the official operator's resource, same name, same broker object. A field the official
 * kind lacks is refused rather than dropped: both operators must be given the same workload.
 */
export function officialManifest(object: MixObject, namespace: string, secret: string): KubeObject {
  const allowed = officialSpecFields[object.kind];
  for (const field of Object.keys(object.spec)) {
    if (!allowed.includes(field as keyof MixSpec))
      throw new Error(`the official ${object.kind} has no spec.${field} (object ${object.name})`);
  }
  for (const limit of Object.keys(object.spec.limits ?? {})) {
    if (!officialVhostLimits.includes(limit))
      throw new Error(`the official Vhost has no limit "${limit}" (object ${object.name})`);
  }
  return {
    apiVersion: `${group}/${version}`,
    kind: object.kind,
    metadata: { name: object.name, namespace },
    spec: { ...object.spec, rabbitmqClusterReference: { connectionSecret: { name: secret } } },
  };
}

export interface OfficialBuild {
  binary: string;
  crdDir: string;
}

/** Builds the operator where the cache lacks it (minutes the first time), and says where it is. */
export function buildOfficialOperator(): OfficialBuild {
  log('building the official messaging topology operator (test/env/testbins/build.sh topology-operator)');
  const output = execFileSync(
    'bash',
    [join(repoRoot, 'test', 'env', 'testbins', 'build.sh'), 'topology-operator'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const dir = /^TOPOLOGY_OPERATOR_DIR=(.+)$/m.exec(output)?.[1];
  if (!dir) throw new Error(`build.sh topology-operator printed no TOPOLOGY_OPERATOR_DIR: ${output}`);
  return { binary: join(dir, 'messaging-topology-operator'), crdDir: join(dir, 'crds') };
}

const crdResource: ResourceRef = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
  kind: 'CustomResourceDefinition',
  namespaced: false,
};

/**
 * Applies the official CRDs (and the RabbitmqCluster CRD, without which the operator reconciles nothing, not
 * even resources that name a connection Secret) and resolves once all are Established.
 */
export async function installOfficialCrds(kube: KubeClient, crdDir: string): Promise<void> {
  const crds = readdirSync(crdDir)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => parse(readFileSync(join(crdDir, file), 'utf8')) as KubeObject);
  for (const crd of crds) await kube.apply(crdResource, crd, { fieldManager: 'warren-bench' });
  const deadline = Date.now() + 60_000;
  for (const crd of crds) {
    for (;;) {
      const live = await kube.get<
        KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
      >(crdResource, { namespace: '', name: crd.metadata.name ?? '' });
      if (live?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name ?? ''} not Established in 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  log(`installed ${String(crds.length)} CRDs of the official operator`);
}

export interface OfficialOptions {
  build: OfficialBuild;
  kubeconfigPath: string;
  namespace: string;
  /** Names the run's log file and cgroup (`converge`, `resync`). */
  run: string;
  /** Port of the health probes (`/readyz`); none when undefined. */
  healthPort?: number;
}

/** The official operator, watching `namespace` only, with plain-HTTP metrics on a free loopback port. */
export async function startOfficial(options: OfficialOptions): Promise<Operator> {
  const [metricsPort] = await freePorts(1);
  return startOperatorProcess({
    name: `official-${options.namespace}-${options.run}`,
    command: options.build.binary,
    args: [
      `--metrics-bind-address=127.0.0.1:${String(metricsPort)}`,
      '--metrics-secure=false',
      `--health-probe-bind-address=${options.healthPort === undefined ? '0' : `127.0.0.1:${String(options.healthPort)}`}`,
    ],
    metricsPort: metricsPort!,
    env: {
      ...inheritedEnv(),
      KUBECONFIG: options.kubeconfigPath,
      ENABLE_WEBHOOKS: 'false',
      OPERATOR_NAMESPACE: options.namespace,
      OPERATOR_SCOPE_NAMESPACE: options.namespace,
    },
  });
}
