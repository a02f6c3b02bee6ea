import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Container, V1StatefulSet } from '@kubernetes/client-node';
import { aCluster } from './fixture.ts';
import type { TlsMount } from './features.ts';
import { preStopScript, statefulSet, type StatefulSetInputs } from './statefulset.ts';

const inputs: StatefulSetInputs = {
  tls: undefined,
  configHash: 'hash-1',
  defaultImage: 'rabbitmq:4.1.4-management',
};
const tls: TlsMount = {
  secretName: 'orders-tls',
  caSecretName: 'orders-ca',
  verifyPeer: true,
  disableNonTLSListeners: false,
};

const podSpecOf = (sts: V1StatefulSet) => sts.spec?.template.spec ?? { containers: [] };
const broker = (sts: V1StatefulSet): V1Container => {
  const container = podSpecOf(sts).containers.find((c) => c.name === 'rabbitmq');
  assert.ok(container, 'the rabbitmq container exists');
  return container;
};
const volumeNames = (sts: V1StatefulSet) => (podSpecOf(sts).volumes ?? []).map((v) => v.name);
const mountPaths = (sts: V1StatefulSet) => (broker(sts).volumeMounts ?? []).map((m) => m.mountPath);

describe('StatefulSet', () => {
  it('runs the default image with parallel pod management behind the headless Service', () => {
    const sts = statefulSet(aCluster(), inputs);
    assert.equal(sts.metadata?.name, 'orders-server');
    assert.equal(sts.spec?.replicas, 1);
    assert.equal(sts.spec.serviceName, 'orders-nodes');
    assert.equal(sts.spec.podManagementPolicy, 'Parallel');
    assert.deepEqual(sts.spec.selector, { matchLabels: { 'app.kubernetes.io/name': 'orders' } });
    assert.equal(broker(sts).image, 'rabbitmq:4.1.4-management');
    assert.equal(podSpecOf(sts).initContainers?.[0]?.image, 'rabbitmq:4.1.4-management');
  });

  it('uses the image and pull secrets of the spec', () => {
    const sts = statefulSet(
      aCluster({ image: 'registry.local/rabbitmq:3.13', imagePullSecrets: [{ name: 'regcred' }] }),
      inputs,
    );
    assert.equal(broker(sts).image, 'registry.local/rabbitmq:3.13');
    assert.deepEqual(podSpecOf(sts).imagePullSecrets, [{ name: 'regcred' }]);
  });

  it('names the node after its pod and the headless Service', () => {
    const env = Object.fromEntries(
      (broker(statefulSet(aCluster(), inputs)).env ?? []).map((e) => [e.name, e.value]),
    );
    assert.equal(env.RABBITMQ_NODENAME, 'rabbit@$(MY_POD_NAME).$(K8S_SERVICE_NAME).$(MY_POD_NAMESPACE)');
    assert.equal(env.K8S_SERVICE_NAME, 'orders-nodes');
    assert.equal(env.RABBITMQ_USE_LONGNAME, 'true');
  });

  it('gives the broker default resources, and none when resources are explicitly empty', () => {
    assert.deepEqual(broker(statefulSet(aCluster(), inputs)).resources, {
      requests: { cpu: '1000m', memory: '2Gi' },
      limits: { cpu: '2000m', memory: '2Gi' },
    });
    assert.deepEqual(broker(statefulSet(aCluster({ resources: {} }), inputs)).resources, {});
    const custom = { requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '1Gi' } };
    assert.deepEqual(broker(statefulSet(aCluster({ resources: custom }), inputs)).resources, custom);
  });

  it('claims a 10Gi volume per pod by default and keeps it when the cluster is deleted', () => {
    const sts = statefulSet(aCluster(), inputs);
    const claim = sts.spec?.volumeClaimTemplates?.[0];
    assert.equal(claim?.metadata?.name, 'persistence');
    assert.deepEqual(claim.spec?.resources?.requests, { storage: '10Gi' });
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
    assert.deepEqual(sts.spec?.persistentVolumeClaimRetentionPolicy, {
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    assert.ok(!volumeNames(sts).includes('persistence'));
    assert.ok(mountPaths(sts).includes('/var/lib/rabbitmq/mnesia/'));
  });

  it('deletes the volumes with the cluster when persistence asks for it', () => {
    const sts = statefulSet(
      aCluster({ persistence: { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' } } }),
      inputs,
    );
    assert.equal(sts.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted, 'Delete');
  });

  it('uses the storage class and size of the spec', () => {
    const sts = statefulSet(aCluster({ persistence: { storage: '50Gi', storageClassName: 'fast' } }), inputs);
    assert.equal(sts.spec?.volumeClaimTemplates?.[0]?.spec?.storageClassName, 'fast');
    assert.deepEqual(sts.spec.volumeClaimTemplates[0].spec.resources?.requests, { storage: '50Gi' });
  });

  it('keeps the live claim template, which a StatefulSet cannot change', () => {
    const live = statefulSet(aCluster(), inputs).spec?.volumeClaimTemplates ?? [];
    const sts = statefulSet(aCluster({ persistence: { storage: '20Gi' } }), {
      ...inputs,
      existingClaimTemplates: live,
    });
    assert.deepEqual(sts.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests, { storage: '10Gi' });
  });

  it('uses an emptyDir instead of a claim when the storage size is zero', () => {
    const sts = statefulSet(
      aCluster({ persistence: { storage: '0', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } } }),
      inputs,
    );
    assert.equal(sts.spec?.volumeClaimTemplates, undefined);
    const volume = podSpecOf(sts).volumes?.find((v) => v.name === 'persistence');
    assert.deepEqual(volume?.emptyDir, { medium: 'Memory', sizeLimit: '1Gi' });
  });

  it('checks readiness over TCP and startup over the management listener', () => {
    const container = broker(statefulSet(aCluster(), inputs));
    assert.deepEqual(container.readinessProbe?.tcpSocket, { port: 'amqp' });
    assert.equal(container.livenessProbe, undefined);
    assert.deepEqual(container.startupProbe?.httpGet, { path: '/', port: 'management', scheme: 'HTTP' });
  });

  it('probes the TLS ports when non-TLS listeners are disabled', () => {
    const container = broker(
      statefulSet(aCluster(), { ...inputs, tls: { ...tls, disableNonTLSListeners: true } }),
    );
    assert.deepEqual(container.readinessProbe?.tcpSocket, { port: 'amqps' });
    assert.deepEqual(container.startupProbe?.httpGet, { path: '/', port: 'management-tls', scheme: 'HTTPS' });
    assert.deepEqual(
      (container.ports ?? []).map((p) => p.name),
      ['epmd', 'amqps', 'management-tls', 'prometheus-tls'],
    );
  });

  it('mounts the certificate, key and CA read-only when TLS is on', () => {
    const sts = statefulSet(aCluster(), { ...inputs, tls });
    const volume = podSpecOf(sts).volumes?.find((v) => v.name === 'rabbitmq-tls');
    assert.deepEqual(
      volume?.projected?.sources?.map((s) => [s.secret?.name, s.secret?.items?.map((i) => i.key)]),
      [
        ['orders-tls', ['tls.crt', 'tls.key']],
        ['orders-ca', ['ca.crt']],
      ],
    );
    assert.equal(volume.projected.defaultMode, 0o400);
    assert.ok(broker(sts).volumeMounts?.some((m) => m.mountPath === '/etc/rabbitmq-tls/' && m.readOnly));
    assert.ok(!volumeNames(statefulSet(aCluster(), inputs)).includes('rabbitmq-tls'));
  });

  it('loads conf.d files in order: operator defaults, default user, user configuration', () => {
    const confd = mountPaths(statefulSet(aCluster(), inputs)).filter((p) => p.includes('conf.d'));
    assert.deepEqual(confd, [
      '/etc/rabbitmq/conf.d/10-operatorDefaults.conf',
      '/etc/rabbitmq/conf.d/11-default_user.conf',
      '/etc/rabbitmq/conf.d/90-userDefinedConfiguration.conf',
    ]);
  });

  it('reads the default user from an external Secret when the spec names one', () => {
    const sts = statefulSet(
      aCluster({ secretBackend: { externalSecret: { name: 'vault-synced' } } }),
      inputs,
    );
    const confd = podSpecOf(sts).volumes?.find((v) => v.name === 'rabbitmq-confd');
    assert.deepEqual(
      confd?.projected?.sources?.map((s) => s.secret?.name ?? s.configMap?.name),
      ['orders-server-conf', 'vault-synced'],
    );
  });

  it('mounts advanced.config and rabbitmq-env.conf only when they are set', () => {
    assert.ok(!volumeNames(statefulSet(aCluster(), inputs)).includes('server-conf'));
    const sts = statefulSet(aCluster({ rabbitmq: { advancedConfig: '[].', envConfig: 'A=1' } }), inputs);
    assert.ok(mountPaths(sts).includes('/etc/rabbitmq/advanced.config'));
    assert.ok(mountPaths(sts).includes('/etc/rabbitmq/rabbitmq-env.conf'));
    assert.ok(!mountPaths(sts).includes('/etc/rabbitmq/erl_inetrc'));
  });

  it('meets the Restricted Pod Security Standard', () => {
    const pod = podSpecOf(statefulSet(aCluster(), inputs));
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      assert.equal(container.securityContext?.allowPrivilegeEscalation, false, container.name);
      assert.deepEqual(container.securityContext.capabilities, { drop: ['ALL'] }, container.name);
    }
    const allowed = ['configMap', 'secret', 'emptyDir', 'projected', 'downwardAPI', 'persistentVolumeClaim'];
    for (const volume of pod.volumes ?? []) {
      assert.ok(
        Object.keys(volume).every((key) => key === 'name' || allowed.includes(key)),
        volume.name,
      );
    }
  });

  it('prefers one pod per node and spreads pods across zones by default', () => {
    const pod = podSpecOf(statefulSet(aCluster(), inputs));
    const term = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0];
    assert.equal(term?.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(term.podAffinityTerm.labelSelector?.matchLabels, {
      'app.kubernetes.io/name': 'orders',
    });
    assert.equal(pod.topologySpreadConstraints?.[0]?.topologyKey, 'topology.kubernetes.io/zone');
    assert.equal(pod.topologySpreadConstraints[0].whenUnsatisfiable, 'ScheduleAnyway');
  });

  it('replaces the default placement with the spec affinity and the opt-out annotation', () => {
    const affinity = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
    };
    const pod = podSpecOf(
      statefulSet(
        aCluster(
          { affinity, tolerations: [{ key: 'dedicated', operator: 'Exists' }] },
          {
            annotations: { 'rabbitmq.com/disable-default-topology-spread-constraints': 'true' },
          },
        ),
        inputs,
      ),
    );
    assert.deepEqual(pod.affinity, affinity);
    assert.equal(pod.topologySpreadConstraints, undefined);
    assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Exists' }]);
  });

  it('annotates the pod template with the configuration hash', () => {
    const sts = statefulSet(aCluster(), inputs);
    assert.deepEqual(sts.spec?.template.metadata?.annotations, { 'warren.dev/config-hash': 'hash-1' });
  });

  it('keeps the cluster labels off the pod template, so relabelling restarts nothing', () => {
    const sts = statefulSet(aCluster({}, { labels: { team: 'payments' } }), inputs);
    assert.equal(sts.metadata?.labels?.team, 'payments');
    assert.equal(sts.spec?.template.metadata?.labels?.team, undefined);
  });

  it('waits for quorum queues before stopping, for a bounded time', () => {
    const container = broker(statefulSet(aCluster(), inputs));
    const script = container.lifecycle?.preStop?.exec?.command?.at(-1) ?? '';
    assert.match(script, /budget=900\n/);
    assert.match(script, /await_online_quorum_plus_one -t "\$budget"/);
    assert.equal(podSpecOf(statefulSet(aCluster(), inputs)).terminationGracePeriodSeconds, 604800);
  });

  it('bounds the preStop wait by the grace period and skips it when there is no time', () => {
    assert.match(preStopScript(120), /budget=90\n/);
    assert.match(preStopScript(10), /budget=0\n/);
  });

  it('applies override.statefulSet on top: a sidecar, an env var and a changed update strategy', () => {
    const sts = statefulSet(
      aCluster({
        override: {
          statefulSet: {
            spec: {
              updateStrategy: { rollingUpdate: { partition: 1 } },
              template: {
                spec: {
                  containers: [
                    { name: 'rabbitmq', env: [{ name: 'ERL_MAX_PORTS', value: '4096' }] },
                    { name: 'sidecar', image: 'busybox' },
                  ],
                },
              },
            },
          },
        },
      }),
      inputs,
    );
    const env = broker(sts).env ?? [];
    assert.equal(env.at(-1)?.name, 'ERL_MAX_PORTS');
    assert.ok(env.some((e) => e.name === 'RABBITMQ_NODENAME'));
    assert.deepEqual(
      podSpecOf(sts).containers.map((c) => c.name),
      ['rabbitmq', 'sidecar'],
    );
    assert.deepEqual(sts.spec?.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 1 } });
  });
});
