import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { strategicMerge } from './merge.ts';

const podSpec = {
  containers: [
    {
      name: 'rabbitmq',
      image: 'rabbitmq:4.1',
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
      ports: [{ name: 'amqp', containerPort: 5672 }],
      volumeMounts: [{ name: 'data', mountPath: '/var/lib/rabbitmq' }],
      securityContext: { runAsNonRoot: true },
    },
  ],
  volumes: [{ name: 'data', emptyDir: {} }],
  tolerations: [{ key: 'a', operator: 'Exists' }],
  securityContext: { runAsUser: 999 },
};

describe('Strategic merge of overrides', () => {
  it('merges containers by name and their env by name, keeping what the patch does not mention', () => {
    const merged = strategicMerge(podSpec, {
      containers: [
        {
          name: 'rabbitmq',
          env: [
            { name: 'B', value: 'two' },
            { name: 'C', value: '3' },
          ],
        },
      ],
    });
    assert.deepEqual(merged.containers[0]?.env, [
      { name: 'A', value: '1' },
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
    ]);
    assert.equal(merged.containers[0].image, 'rabbitmq:4.1');
  });

  it('adds a sidecar container and a volume next to the operator ones', () => {
    const merged = strategicMerge(podSpec, {
      containers: [{ name: 'exporter', image: 'exporter:1' }],
      volumes: [{ name: 'extra', emptyDir: {} }],
    });
    assert.deepEqual(
      merged.containers.map((c) => c.name),
      ['rabbitmq', 'exporter'],
    );
    assert.deepEqual(
      merged.volumes.map((v) => v.name),
      ['data', 'extra'],
    );
  });

  it('merges volume mounts by mount path and container ports by port number', () => {
    const merged = strategicMerge(podSpec, {
      containers: [
        {
          name: 'rabbitmq',
          volumeMounts: [{ name: 'other', mountPath: '/var/lib/rabbitmq' }],
          ports: [{ name: 'custom', containerPort: 9999 }],
        },
      ],
    });
    assert.deepEqual(merged.containers[0]?.volumeMounts, [{ name: 'other', mountPath: '/var/lib/rabbitmq' }]);
    assert.deepEqual(merged.containers[0].ports, [
      { name: 'amqp', containerPort: 5672 },
      { name: 'custom', containerPort: 9999 },
    ]);
  });

  it('replaces lists without a merge key, such as tolerations', () => {
    const merged = strategicMerge(podSpec, { tolerations: [{ key: 'b', operator: 'Exists' }] });
    assert.deepEqual(merged.tolerations, [{ key: 'b', operator: 'Exists' }]);
  });

  it('deletes list items and map keys on request', () => {
    const merged = strategicMerge(podSpec, {
      volumes: [{ name: 'data', $patch: 'delete' }],
      containers: [{ name: 'rabbitmq', image: null }],
    });
    assert.deepEqual(merged.volumes, []);
    assert.equal('image' in (merged.containers[0] ?? {}), false);
  });

  it('replaces a whole list or map when the patch says so', () => {
    const merged = strategicMerge(podSpec, {
      volumes: [{ $patch: 'replace' }, { name: 'only', emptyDir: {} }],
      containers: [{ name: 'rabbitmq', securityContext: { $patch: 'replace', runAsUser: 1000 } }],
    });
    assert.deepEqual(merged.volumes, [{ name: 'only', emptyDir: {} }]);
    assert.deepEqual(merged.containers[0]?.securityContext, { runAsUser: 1000 });
  });

  it('removes the operator security context when the override sets it to {}', () => {
    const merged = strategicMerge(podSpec, {
      securityContext: {},
      containers: [{ name: 'rabbitmq', securityContext: {} }],
    });
    assert.equal('securityContext' in merged, false);
    assert.equal('securityContext' in (merged.containers[0] ?? {}), false);
  });

  it('leaves its inputs untouched', () => {
    const before = JSON.stringify(podSpec);
    strategicMerge(podSpec, { containers: [{ name: 'rabbitmq', image: 'x' }] });
    assert.equal(JSON.stringify(podSpec), before);
  });
});
