import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configHash, pluginsConfigMap, serverConfigMap, validateConfiguration } from './config.ts';
import { aCluster } from './fixture.ts';

const settings = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => line.split(/\s*=\s*/, 2) as [string, string]),
  );
const tls = { secretName: 'orders-tls', verifyPeer: false, disableNonTLSListeners: false };

describe('Plugins ConfigMap', () => {
  it('enables the three required plugins, then the additional ones without duplicates', () => {
    const configMap = pluginsConfigMap(
      aCluster({
        rabbitmq: { additionalPlugins: ['rabbitmq_shovel', 'rabbitmq_management', 'rabbitmq_mqtt'] },
      }),
    );
    assert.equal(configMap.metadata?.name, 'orders-plugins-conf');
    assert.equal(
      configMap.data?.enabled_plugins,
      '[rabbitmq_peer_discovery_k8s,rabbitmq_prometheus,rabbitmq_management,rabbitmq_shovel,rabbitmq_mqtt].',
    );
  });
});

describe('Server ConfigMap', () => {
  it('configures Kubernetes peer discovery, partition handling and the cluster name', () => {
    const defaults = settings(
      serverConfigMap(aCluster({ replicas: 3 }), undefined).data?.['operatorDefaults.conf'] ?? '',
    );
    assert.equal(defaults['cluster_formation.peer_discovery_backend'], 'rabbit_peer_discovery_k8s');
    assert.equal(defaults['cluster_formation.k8s.address_type'], 'hostname');
    assert.equal(defaults['cluster_formation.target_cluster_size_hint'], '3');
    assert.equal(defaults.cluster_partition_handling, 'pause_minority');
    assert.equal(defaults.cluster_name, 'orders');
    assert.equal(defaults['auth_mechanisms.1'], 'PLAIN');
  });

  it('leaves authentication mechanisms to additionalConfig when it sets them', () => {
    const cluster = aCluster({ rabbitmq: { additionalConfig: 'auth_mechanisms.1 = EXTERNAL' } });
    const defaults = serverConfigMap(cluster, undefined).data?.['operatorDefaults.conf'] ?? '';
    assert.doesNotMatch(defaults, /auth_mechanisms/);
  });

  it('derives the memory available from the memory limit, keeping 20% headroom', () => {
    const user = serverConfigMap(aCluster(), undefined).data?.['userDefinedConfiguration.conf'] ?? '';
    assert.equal(settings(user).total_memory_available_override_value, '1717986919');
    const big = serverConfigMap(aCluster({ resources: { limits: { memory: '20Gi' } } }), undefined);
    assert.equal(
      settings(big.data?.['userDefinedConfiguration.conf'] ?? '').total_memory_available_override_value,
      String(20 * 2 ** 30 - 2 ** 31),
    );
  });

  it('sets no memory figure when resources are explicitly empty', () => {
    const user = serverConfigMap(aCluster({ resources: {} }), undefined).data?.[
      'userDefinedConfiguration.conf'
    ];
    assert.equal(user, '');
  });

  it('keeps the free-disk threshold at 2GB but below a quarter of a small volume', () => {
    const diskLimit = (storage: string) =>
      settings(
        serverConfigMap(aCluster({ persistence: { storage } }), undefined).data?.['operatorDefaults.conf'] ??
          '',
      )['disk_free_limit.absolute'];
    assert.equal(diskLimit('10Gi'), '2GB');
    assert.equal(diskLimit('1Gi'), String(2 ** 28));
  });

  it('appends additionalConfig last so that the user keys win', () => {
    const user =
      serverConfigMap(
        aCluster({ rabbitmq: { additionalConfig: 'total_memory_available_override_value = 1000' } }),
        undefined,
      ).data?.['userDefinedConfiguration.conf'] ?? '';
    assert.match(
      user,
      /total_memory_available_override_value = 1717986919\ntotal_memory_available_override_value = 1000\n$/,
    );
  });

  it('adds the TLS listeners and certificate paths when TLS is on, keeping plain listeners', () => {
    const user = settings(serverConfigMap(aCluster(), tls).data?.['userDefinedConfiguration.conf'] ?? '');
    assert.equal(user['ssl_options.certfile'], '/etc/rabbitmq-tls/tls.crt');
    assert.equal(user['ssl_options.keyfile'], '/etc/rabbitmq-tls/tls.key');
    assert.equal(user['listeners.ssl.default'], '5671');
    assert.equal(user['management.ssl.port'], '15671');
    assert.equal(user['management.tcp.port'], '15672');
    assert.equal(user['listeners.tcp'], undefined);
    assert.equal(user['ssl_options.verify'], undefined);
  });

  it('verifies peers against the CA for mutual TLS and closes plain listeners on request', () => {
    const cluster = aCluster({ rabbitmq: { additionalPlugins: ['rabbitmq_web_stomp'] } });
    const user = settings(
      serverConfigMap(cluster, { ...tls, caSecretName: 'ca', verifyPeer: true, disableNonTLSListeners: true })
        .data?.['userDefinedConfiguration.conf'] ?? '',
    );
    assert.equal(user['ssl_options.cacertfile'], '/etc/rabbitmq-tls/ca.crt');
    assert.equal(user['ssl_options.verify'], 'verify_peer');
    assert.equal(user['listeners.tcp'], 'none');
    assert.equal(user['stomp.listeners.tcp'], 'none');
    assert.equal(user['web_stomp.ssl.port'], '15673');
    assert.equal(user['web_stomp.tcp.listener'], 'none');
    assert.equal(user['management.tcp.port'], undefined);
  });

  it('carries advanced.config, rabbitmq-env.conf and erl_inetrc only when set', () => {
    assert.deepEqual(Object.keys(serverConfigMap(aCluster(), undefined).data ?? {}), [
      'operatorDefaults.conf',
      'userDefinedConfiguration.conf',
    ]);
    const data =
      serverConfigMap(
        aCluster({
          rabbitmq: {
            advancedConfig: '[].',
            envConfig: 'A=1',
            erlangInetConfig: '{host, {127,0,0,1}, ["x"]}.',
          },
        }),
        undefined,
      ).data ?? {};
    assert.equal(data['advanced.config'], '[].');
    assert.equal(data['rabbitmq-env.conf'], 'A=1');
    assert.equal(data.erl_inetrc, '{host, {127,0,0,1}, ["x"]}.');
  });
});

describe('Configuration validation', () => {
  it('accepts settings and comments', () => {
    const cluster = aCluster({
      rabbitmq: { additionalConfig: '# limits\nchannel_max = 100\n\nlog.console.level = debug' },
    });
    assert.equal(validateConfiguration(cluster), undefined);
  });

  it('rejects a line that is not a setting, naming the line', () => {
    const error = validateConfiguration(
      aCluster({ rabbitmq: { additionalConfig: 'channel_max = 100\n[section]' } }),
    );
    assert.equal(error?.reason, 'InvalidConfiguration');
    assert.match(error.message, /line 2/);
  });
});

describe('Configuration hash', () => {
  const hashOf = (cluster: ReturnType<typeof aCluster>, material = '') =>
    configHash(serverConfigMap(cluster, undefined), pluginsConfigMap(cluster), material);

  it('stays the same when only the replica count changes', () => {
    assert.equal(hashOf(aCluster({ replicas: 3 })), hashOf(aCluster({ replicas: 5 })));
  });

  it('changes with the configuration, the plugins and the TLS material', () => {
    const base = hashOf(aCluster());
    assert.notEqual(hashOf(aCluster({ rabbitmq: { additionalConfig: 'channel_max = 10' } })), base);
    assert.notEqual(hashOf(aCluster({ rabbitmq: { additionalPlugins: ['rabbitmq_shovel'] } })), base);
    assert.notEqual(hashOf(aCluster(), 'certificate-v2'), base);
  });
});
