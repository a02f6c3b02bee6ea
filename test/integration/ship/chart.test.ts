// The Helm chart: lint, render in both RBAC modes, reject bad values, match config/, and install for real.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane, type ControlPlaneHandle } from '../../env/control-plane.ts';
import { leaderElectionRules, watchedNamespaceRules } from '../../../src/rbac.ts';
import { kinds } from '../../../src/api/kinds.ts';
import { parseDuration } from '../../../src/settings.ts';
import { finalizerByPlural, finalizerPolicySpec, podWritePolicySpec } from '../../../src/admission.ts';
import { eventually } from '../../env/shared.ts';
import { validCases } from '../api/cases.ts';
import {
  admissionPolicyApi,
  podWritePolicyApi,
  chartDir,
  helm,
  helmOk,
  parseManifests,
  repoRoot,
  template,
  type Manifest,
} from './helm.ts';

function find(manifests: Manifest[], kind: string, name?: string, namespace?: string): Manifest | undefined {
  return manifests.find(
    (m) =>
      m.kind === kind &&
      (name === undefined || m.metadata.name === name) &&
      (namespace === undefined || m.metadata.namespace === namespace),
  );
}

interface Container {
  env: { name: string; value?: string }[];
  securityContext: Record<string, unknown>;
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
}
interface PodSpec {
  securityContext: Record<string, unknown>;
  terminationGracePeriodSeconds: number;
  serviceAccountName: string;
  containers: Container[];
}

function podSpec(manifests: Manifest[]): PodSpec {
  const deployment = find(manifests, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } };
  return deployment.spec.template.spec;
}

function envOf(manifests: Manifest[]): Record<string, string | undefined> {
  return Object.fromEntries(podSpec(manifests).containers[0]!.env.map((e) => [e.name, e.value]));
}

describe('Helm chart', () => {
  it('passes helm lint with default and namespaced values', () => {
    helmOk(['lint', '--strict', chartDir]);
    helmOk(['lint', '--strict', chartDir, '--set-json', 'watchNamespaces=["team-a","team-b"]']);
  });

  it('grants the rules of src/rbac.ts through a ClusterRole when it watches all namespaces', () => {
    const manifests = template();
    const clusterRole = find(manifests, 'ClusterRole', 'warren');
    assert.deepEqual(clusterRole?.rules, watchedNamespaceRules);
    const binding = find(manifests, 'ClusterRoleBinding', 'warren') as unknown as {
      subjects: { kind: string; name: string; namespace: string }[];
    };
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'warren', namespace: 'warren-system' },
    ]);
    assert.deepEqual(
      find(manifests, 'Role', 'warren-leader-election', 'warren-system')?.rules,
      leaderElectionRules,
    );
    assert.equal(envOf(manifests).WATCH_NAMESPACES, '');
  });

  it('uses only Roles in the watched namespaces in namespaced mode', () => {
    const manifests = template(['watchNamespaces=["team-a","team-b"]']);
    assert.equal(find(manifests, 'ClusterRole'), undefined);
    assert.equal(find(manifests, 'ClusterRoleBinding'), undefined);
    for (const namespace of ['team-a', 'team-b']) {
      assert.deepEqual(find(manifests, 'Role', 'warren', namespace)?.rules, watchedNamespaceRules);
      assert.ok(find(manifests, 'RoleBinding', 'warren', namespace));
    }
    assert.ok(find(manifests, 'Role', 'warren-leader-election', 'warren-system'));
    assert.equal(envOf(manifests).WATCH_NAMESPACES, 'team-a,team-b');
  });

  it('names no wildcard in any rule it renders', () => {
    const rendered =
      helmOk(['template', 'warren', chartDir]) +
      helmOk(['template', 'warren', chartDir, '--set-json', 'watchNamespaces=["a"]']);
    for (const manifest of parseManifests(rendered)) {
      for (const rule of (manifest.rules ?? []) as {
        apiGroups: string[];
        resources: string[];
        verbs: string[];
      }[]) {
        assert.ok(
          ![...rule.apiGroups, ...rule.resources, ...rule.verbs].some((v) => v.includes('*')),
          JSON.stringify(rule),
        );
      }
    }
  });

  it('runs the operator restricted, with probes on /healthz and /readyz and metrics on 8080', () => {
    const manifests = template();
    const pod = podSpec(manifests);
    const container = pod.containers[0]!;
    assert.equal(pod.serviceAccountName, 'warren');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    assert.deepEqual(
      container.ports.map((p) => [p.name, p.containerPort]),
      [
        ['metrics', 8080],
        ['probes', 8081],
      ],
    );
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'probes' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'probes' });
    const env = envOf(manifests);
    assert.equal(env.LEADER_ELECT, 'true');
    assert.equal(env.METRICS_BIND_ADDRESS, ':8080');
    assert.equal(env.HEALTH_PROBE_BIND_ADDRESS, ':8081');
  });

  it('gives the pod a grace period that outlasts the graceful shutdown timeout by the Lease release', () => {
    for (const values of [[], ['gracefulShutdownTimeoutSeconds=60', 'terminationGracePeriodSeconds=75']]) {
      const manifests = template(values);
      const timeoutMs = parseDuration(envOf(manifests).GRACEFUL_SHUTDOWN_TIMEOUT ?? '');
      const graceSeconds = podSpec(manifests).terminationGracePeriodSeconds;
      assert.ok(
        graceSeconds * 1000 >= timeoutMs + 15_000,
        `grace ${graceSeconds} s, timeout ${timeoutMs} ms`,
      );
    }
    assert.equal(envOf(template()).GRACEFUL_SHUTDOWN_TIMEOUT, '30s');
    assert.equal(podSpec(template()).terminationGracePeriodSeconds, 45);
  });

  it('creates a ServiceMonitor only when asked', () => {
    assert.equal(find(template(), 'ServiceMonitor'), undefined);
    const monitor = find(
      template(['metrics.serviceMonitor={"enabled":true,"labels":{"release":"prom"}}']),
      'ServiceMonitor',
    );
    assert.equal(monitor?.metadata.labels?.release, 'prom');
  });

  it('ships the CRDs of crds/ unchanged', () => {
    const names = readdirSync(join(repoRoot, 'crds')).filter((n) => n.endsWith('.yaml'));
    assert.equal(names.length, kinds.length);
    for (const name of names) {
      assert.equal(
        readFileSync(join(chartDir, 'crds', name), 'utf8'),
        readFileSync(join(repoRoot, 'crds', name), 'utf8'),
      );
    }
  });

  it('adds the finalizer policy of src/admission.ts only where the cluster serves it', () => {
    assert.equal(find(template(), 'MutatingAdmissionPolicy'), undefined, 'rendered for a cluster without it');
    const manifests = template([], 'warren-system', [admissionPolicyApi]);
    const policy = find(manifests, 'MutatingAdmissionPolicy', 'warren-finalizers');
    assert.deepEqual(policy?.spec, finalizerPolicySpec());
    const binding = find(manifests, 'MutatingAdmissionPolicyBinding', 'warren-finalizers');
    assert.deepEqual(binding?.spec, { policyName: 'warren-finalizers' });
    const off = template(['admissionPolicy={"enabled":false}'], 'warren-system', [admissionPolicyApi]);
    assert.equal(find(off, 'MutatingAdmissionPolicy'), undefined, 'rendered though turned off');
  });

  it("narrows the operator's pod writes with the policy of src/admission.ts where the cluster serves it", () => {
    assert.equal(
      find(template(), 'ValidatingAdmissionPolicy'),
      undefined,
      'rendered for a cluster without it',
    );
    const manifests = template([], 'other-system', [podWritePolicyApi]);
    const policy = find(manifests, 'ValidatingAdmissionPolicy', 'warren-pod-writes');
    assert.deepEqual(policy?.spec, podWritePolicySpec('system:serviceaccount:other-system:warren'));
    const binding = find(manifests, 'ValidatingAdmissionPolicyBinding', 'warren-pod-writes');
    assert.deepEqual(binding?.spec, { policyName: 'warren-pod-writes', validationActions: ['Deny'] });
    const off = template(['podWritePolicy={"enabled":false}'], 'warren-system', [podWritePolicyApi]);
    assert.equal(find(off, 'ValidatingAdmissionPolicy'), undefined, 'rendered though turned off');
  });

  it('binds the finalizer policy to the watched namespaces alone in namespaced mode', () => {
    const manifests = template(['watchNamespaces=["team-a","team-b"]'], 'warren-system', [
      admissionPolicyApi,
    ]);
    const binding = find(manifests, 'MutatingAdmissionPolicyBinding', 'warren-finalizers');
    assert.deepEqual(binding?.spec, {
      policyName: 'warren-finalizers',
      matchResources: {
        namespaceSelector: {
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a', 'team-b'] },
          ],
        },
      },
    });
  });

  it('renders the same objects as config/ for a release called warren in warren-system', () => {
    const withoutHelm = (m: Manifest) => {
      const copy = structuredClone(m);
      const strip = (labels?: Record<string, string>) => {
        if (!labels) return;
        delete labels['helm.sh/chart'];
        delete labels['app.kubernetes.io/managed-by'];
      };
      strip(copy.metadata.labels);
      strip(
        (copy as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }).spec?.template
          ?.metadata?.labels,
      );
      return copy;
    };
    const key = (m: Manifest) => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;
    const chart = new Map(
      template([], 'warren-system', [admissionPolicyApi, podWritePolicyApi]).map((m) => [
        key(m),
        withoutHelm(m),
      ]),
    );
    const plain = ['rbac', 'manager', 'admission'].flatMap((dir) =>
      readdirSync(join(repoRoot, 'config', dir))
        .filter((f) => f !== 'kustomization.yaml')
        .flatMap((f) => parseManifests(readFileSync(join(repoRoot, 'config', dir, f), 'utf8'))),
    );
    for (const manifest of plain.filter((m) => m.kind !== 'Namespace')) {
      assert.deepEqual(
        chart.get(key(manifest)),
        manifest,
        `${key(manifest)} differs between the chart and config/`,
      );
    }
    assert.deepEqual(
      [...chart.keys()].sort(),
      plain
        .filter((m) => m.kind !== 'Namespace')
        .map(key)
        .sort(),
    );
  });
});

describe('Chart values schema', () => {
  const cases: { values: string; message: RegExp; extra?: string }[] = [
    { values: 'replicas="two"', message: /replicas.*(integer|number)/i },
    { values: 'replicas=-1', message: /replicas.*(minimum|>= 0|less than)/i },
    { values: 'image.pullPolicy="Sometimes"', message: /pullPolicy.*(Always|IfNotPresent|Never)/ },
    { values: 'image.repository=""', message: /repository/ },
    { values: 'image.digest="latest"', message: /digest/ },
    { values: 'watchNamespaces=["Team_A"]', message: /watchNamespaces/ },
    { values: 'watchNamespaces="team-a"', message: /watchNamespaces.*array/i },
    { values: 'logLevel="verbose"', message: /logLevel/ },
    { values: 'metrics.port=70000', message: /metrics.*port/ },
    { values: 'leaderElection={"enabled":"yes"}', message: /leaderElection.*enabled.*boolean/i },
    { values: 'replica=2', message: /replica/ },
    { values: 'metrics.serviceMonitor={"enabled":true,"interval":"often"}', message: /interval/ },
    { values: 'maxConcurrentReconciles=0', message: /maxConcurrentReconciles/ },
    { values: 'probes.port=8080', message: /metrics.port and probes.port must differ/ },
    {
      values: 'terminationGracePeriodSeconds=30',
      message: /at least gracefulShutdownTimeoutSeconds \+ 15 \(45\)/,
    },
    {
      values: 'gracefulShutdownTimeoutSeconds=60',
      message: /terminationGracePeriodSeconds \(45\) must be at least/,
    },
    {
      values: 'leaderElection={"enabled":false}',
      message: /replicas above 1 need leaderElection/,
      extra: 'replicas=2',
    },
  ];

  for (const { values, message, extra } of cases) {
    it(`rejects ${values}${extra ? ` with ${extra}` : ''}`, () => {
      const args = ['template', 'warren', chartDir, '--set-json', values];
      if (extra) args.push('--set-json', extra);
      const result = helm(args);
      assert.notEqual(result.status, 0, `helm accepted ${values}`);
      assert.match(result.stderr, message);
    });
  }
});

describe('Chart installed with helm install into a real API server', () => {
  let cp: ControlPlaneHandle;
  let env: NodeJS.ProcessEnv;
  const kubectl = (...args: string[]) =>
    execFileSync(cp.kubectl, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  before(async () => {
    // A control plane of its own with no CRDs, so that Helm installs them for real.
    cp = await startControlPlane({ crdDir: null, controllerManager: false });
    env = { ...process.env, KUBECONFIG: cp.kubeconfigPath };
  });
  after(async () => {
    await cp.stop();
  });

  it('installs the CRDs and every object of the chart', () => {
    helmOk(['install', 'warren', chartDir, '--namespace', 'warren-system', '--create-namespace'], env);
    for (const kind of kinds) {
      kubectl('wait', '--for=condition=Established', '--timeout=60s', `crd/${kind.plural}.${kind.group}`);
    }
    const manifest = helmOk(['get', 'manifest', 'warren', '--namespace', 'warren-system'], env);
    assert.ok(parseManifests(manifest).length >= 7);
    // kubectl get -f fails when any object of the manifest does not exist.
    execFileSync(cp.kubectl, ['get', '-f', '-'], { env, input: manifest, stdio: ['pipe', 'pipe', 'pipe'] });
  });

  it('installs in namespaced mode with Roles in each watched namespace', () => {
    kubectl('create', 'namespace', 'team-a');
    kubectl('create', 'namespace', 'team-b');
    helmOk(
      [
        'install',
        'scoped',
        chartDir,
        '--namespace',
        'scoped-system',
        '--create-namespace',
        '--skip-crds',
        '--set-json',
        'watchNamespaces=["team-a","team-b"]',
      ],
      env,
    );
    for (const namespace of ['team-a', 'team-b'])
      kubectl('get', '-n', namespace, 'role/scoped-warren', 'rolebinding/scoped-warren');
    kubectl('get', '-n', 'scoped-system', 'role/scoped-warren-leader-election', 'deployment/scoped-warren');
  });

  it('installs the finalizer policy on a cluster that serves it', () => {
    kubectl(
      'get',
      'mutatingadmissionpolicy/warren-finalizers',
      'mutatingadmissionpolicybinding/warren-finalizers',
    );
    kubectl('get', 'mutatingadmissionpolicy/scoped-warren-finalizers');
  });

  it('upgrades and uninstalls cleanly, keeping the CRDs', () => {
    helmOk(['upgrade', 'warren', chartDir, '--namespace', 'warren-system', '--set', 'replicas=2'], env);
    assert.equal(
      kubectl('get', '-n', 'warren-system', 'deployment/warren', '-o', 'jsonpath={.spec.replicas}'),
      '2',
    );
    helmOk(['uninstall', 'warren', '--namespace', 'warren-system'], env);
    assert.throws(() => kubectl('get', 'clusterrole/warren'));
    assert.throws(() => kubectl('get', 'mutatingadmissionpolicy/warren-finalizers'));
    kubectl('get', `crd/${kinds[0].plural}.${kinds[0].group}`);
  });

  it('gives objects created in a watched namespace their finalizer, and objects elsewhere none', async () => {
    // Only the namespaced release is left: its policy is bound to team-a and team-b.
    kubectl('create', 'namespace', 'team-c');
    const created = (namespace: string, kind: (typeof kinds)[number], name: string) => {
      const object = {
        apiVersion: `${kind.group}/v1alpha1`,
        kind: kind.kind,
        metadata: { name, namespace, finalizers: ['example.com/keep'] },
        spec: validCases.find((c) => c.kind === kind.kind)?.spec ?? {},
      };
      return JSON.parse(
        execFileSync(cp.kubectl, ['create', '-o', 'json', '-f', '-'], {
          env,
          input: JSON.stringify(object),
          encoding: 'utf8',
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      ) as Manifest & { metadata: { finalizers?: string[] } };
    };
    const byPlural = finalizerByPlural();
    for (const kind of kinds) {
      const finalizer = byPlural.get(kind.plural)!;
      // A new policy is in force once the API server's policy cache has it.
      const inWatched = await eventually(`a ${kind.kind} in team-a to get ${finalizer}`, () => {
        const object = created('team-a', kind, `f-${kind.plural}-${String(Date.now())}`);
        return object.metadata.finalizers?.includes(finalizer) ? object : undefined;
      });
      assert.deepEqual(
        inWatched.metadata.finalizers,
        ['example.com/keep', finalizer],
        "the user's finalizer is kept",
      );
      // The cluster-wide release uninstalled above leaves the policy cache as late as a new one enters it.
      const elsewhere = await eventually(`a ${kind.kind} in team-c to get no finalizer of ours`, () => {
        const object = created('team-c', kind, `f-${kind.plural}-${String(Date.now())}`);
        return object.metadata.finalizers?.includes(finalizer) ? undefined : object;
      });
      assert.deepEqual(
        elsewhere.metadata.finalizers,
        ['example.com/keep'],
        `${kind.kind} outside the watched namespaces`,
      );
    }
  });
  it("refuses every pod update by the operator's ServiceAccount but its skipPreStopChecks label", async () => {
    kubectl('get', 'validatingadmissionpolicy/scoped-warren-pod-writes');
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'broker-0', namespace: 'team-a', labels: { app: 'broker' } },
      spec: { nodeName: 'nowhere', containers: [{ name: 'rabbitmq', image: 'rabbitmq:4.1' }] },
    };
    execFileSync(cp.kubectl, ['create', '-f', '-'], { env, input: JSON.stringify(pod), stdio: 'pipe' });
    const operator = 'system:serviceaccount:scoped-system:scoped-warren';
    // kubectl reads a pod before it patches it; the operator itself never needs to.
    kubectl('create', 'role', '-n', 'team-a', 'kubectl-reads', '--verb=get', '--resource=pods');
    kubectl(
      'create',
      'rolebinding',
      '-n',
      'team-a',
      'kubectl-reads',
      '--role=kubectl-reads',
      `--user=${operator}`,
    );
    const patch = (as: string | undefined, change: unknown) =>
      spawnSync(
        cp.kubectl,
        [
          ...(as ? [`--as=${as}`] : []),
          'patch',
          '-n',
          'team-a',
          'pod/broker-0',
          '--type=merge',
          '-p',
          JSON.stringify(change),
        ],
        { env, encoding: 'utf8' },
      );
    const image = { spec: { containers: [{ name: 'rabbitmq', image: 'attacker/rabbitmq:4.1' }] } };
    // A new policy is in force once the API server's policy cache has it.
    await eventually('the operator to be refused a new image', () => {
      const refused = patch(operator, image);
      return refused.status !== 0 && /the spec changed/.test(refused.stderr) ? refused : undefined;
    });
    const refusals = [
      { change: { metadata: { labels: { app: 'other' } } }, reason: /another label changed/ },
      { change: { metadata: { annotations: { note: 'x' } } }, reason: /annotations, finalizers/ },
      { change: { metadata: { finalizers: ['example.com/hold'] } }, reason: /annotations, finalizers/ },
    ];
    for (const { change, reason } of refusals) {
      const refused = patch(operator, change);
      assert.notEqual(refused.status, 0, JSON.stringify(change));
      assert.match(refused.stderr, reason);
    }
    const labelled = patch(operator, { metadata: { labels: { skipPreStopChecks: 'true' } } });
    assert.equal(labelled.status, 0, labelled.stderr);
    assert.equal(
      kubectl('get', '-n', 'team-a', 'pod/broker-0', '-o', 'jsonpath={.metadata.labels.skipPreStopChecks}'),
      'true',
    );
    // Everyone else is untouched by the policy.
    const byAdmin = patch(undefined, image);
    assert.equal(byAdmin.status, 0, byAdmin.stderr);
  });
});
