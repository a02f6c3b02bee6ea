import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aCluster } from './fixture.ts';
import { clientService, headlessService } from './services.ts';

const portsOf = (service: ReturnType<typeof clientService>) =>
  (service.spec?.ports ?? []).map((port) => `${port.name}:${port.port}:${port.appProtocol ?? ''}`);

describe('Headless Service', () => {
  it('publishes not-ready pods on epmd and cluster-rpc, so nodes find each other while they form', () => {
    const service = headlessService(aCluster());
    assert.equal(service.metadata?.name, 'orders-nodes');
    assert.equal(service.spec?.clusterIP, 'None');
    assert.equal(service.spec.publishNotReadyAddresses, true);
    assert.deepEqual(service.spec.selector, { 'app.kubernetes.io/name': 'orders' });
    assert.deepEqual(
      service.spec.ports?.map((port) => [port.name, port.port]),
      [
        ['epmd', 4369],
        ['cluster-rpc', 25672],
      ],
    );
  });

  it('is owned by the cluster and carries the standard labels', () => {
    const service = headlessService(
      aCluster({}, { labels: { team: 'payments', 'app.kubernetes.io/name': 'x' } }),
    );
    assert.deepEqual(service.metadata?.ownerReferences, [
      {
        apiVersion: 'warren.dev/v1alpha1',
        kind: 'RabbitmqCluster',
        name: 'orders',
        uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.deepEqual(service.metadata.labels, {
      team: 'payments',
      'app.kubernetes.io/name': 'orders',
      'app.kubernetes.io/component': 'rabbitmq',
      'app.kubernetes.io/part-of': 'rabbitmq',
    });
  });
});

describe('Client Service', () => {
  it('exposes AMQP, management and metrics by default, each with its application protocol', () => {
    const service = clientService(aCluster(), undefined);
    assert.equal(service.metadata?.name, 'orders');
    assert.equal(service.spec?.type, 'ClusterIP');
    assert.deepEqual(portsOf(service), [
      'amqp:5672:amqp',
      'management:15672:http',
      'prometheus:15692:prometheus.io/metrics',
    ]);
  });

  it('adds TLS ports next to the plain ones when TLS is on', () => {
    const service = clientService(aCluster(), {
      secretName: 'tls',
      verifyPeer: false,
      disableNonTLSListeners: false,
    });
    assert.deepEqual(portsOf(service), [
      'amqp:5672:amqp',
      'management:15672:http',
      'amqps:5671:amqps',
      'management-tls:15671:https',
      'prometheus-tls:15691:prometheus.io/metric-tls',
    ]);
  });

  it('exposes only TLS ports when non-TLS listeners are disabled', () => {
    const service = clientService(aCluster({ rabbitmq: { additionalPlugins: ['rabbitmq_mqtt'] } }), {
      secretName: 'tls',
      verifyPeer: false,
      disableNonTLSListeners: true,
    });
    assert.deepEqual(portsOf(service), [
      'amqps:5671:amqps',
      'management-tls:15671:https',
      'prometheus-tls:15691:prometheus.io/metric-tls',
      'mqtts:8883:mqtts',
    ]);
  });

  it('adds a port for each enabled protocol plugin, once for the stream plugin family', () => {
    const cluster = aCluster({
      rabbitmq: {
        additionalPlugins: [
          'rabbitmq_mqtt',
          'rabbitmq_web_stomp',
          'rabbitmq_stream',
          'rabbitmq_stream_management',
          'rabbitmq_shovel',
        ],
      },
    });
    assert.deepEqual(portsOf(clientService(cluster, undefined)).slice(3), [
      'mqtt:1883:mqtt',
      'web-stomp:15674:http',
      'stream:5552:rabbitmq.com/stream',
    ]);
  });

  it('takes type, annotations and labels from spec.service without losing the operator labels', () => {
    const service = clientService(
      aCluster({
        service: {
          type: 'LoadBalancer',
          annotations: { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' },
          labels: { exposure: 'internal', 'app.kubernetes.io/name': 'hijack' },
          ipFamilyPolicy: 'PreferDualStack',
        },
      }),
      undefined,
    );
    assert.equal(service.spec?.type, 'LoadBalancer');
    assert.equal(service.spec.ipFamilyPolicy, 'PreferDualStack');
    assert.equal(
      service.metadata?.annotations?.['service.beta.kubernetes.io/aws-load-balancer-internal'],
      'true',
    );
    assert.equal(service.metadata.labels?.exposure, 'internal');
    assert.equal(service.metadata.labels['app.kubernetes.io/name'], 'orders');
  });

  it('applies override.service as a strategic merge: ports merge by port number', () => {
    const service = clientService(
      aCluster({
        override: {
          service: {
            spec: {
              ports: [
                { name: 'amqp', port: 5672, nodePort: 30672 },
                { name: 'extra', port: 9999 },
              ],
            },
          },
        },
      }),
      undefined,
    );
    assert.deepEqual(service.spec?.ports?.[0], {
      name: 'amqp',
      port: 5672,
      protocol: 'TCP',
      appProtocol: 'amqp',
      targetPort: 5672,
      nodePort: 30672,
    });
    assert.equal(service.spec.ports.at(-1)?.name, 'extra');
  });
});
