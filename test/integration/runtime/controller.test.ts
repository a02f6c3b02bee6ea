import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Manager } from '../../../src/runtime/manager.ts';
import { coreResources } from '../../../src/runtime/resource.ts';
import type { ObjectKey } from '../../../src/runtime/resource.ts';
import { annotatingController, RECONCILED_BY, TEST_LABEL } from './test-controller.ts';
import type { ConfigMap, ReconcileRecord } from './test-controller.ts';
import { failOnUnhandled, quietLogger, testSettings, useApi } from './support.ts';
import { createNamespace, eventually } from '../../env/shared.ts';
import type { Api } from './support.ts';

failOnUnhandled();

describe('A controller on the runtime', () => {
  let api: Api;
  let manager: Manager;
  let namespace: string;
  const records: ReconcileRecord[] = [];
  // Per test object: what the reconcile does before annotating.
  const behaviour = new Map<string, (attempt: number) => Promise<void> | void>();

  const cm = (name: string, value: string, extra: Partial<ConfigMap['metadata']> = {}): ConfigMap => ({
    metadata: { name, namespace, labels: { [TEST_LABEL]: 'yes' }, ...extra },
    data: { value },
  });
  const of = (name: string) => records.filter((r) => r.key.name === name);
  const key = (name: string): ObjectKey => ({ namespace, name });

  before(async () => {
    api = await useApi();
    namespace = await createNamespace('runtime-ctl', api.kubeConfig);
    manager = new Manager({
      apiServer: api.apiServer,
      settings: testSettings({ WATCH_NAMESPACES: namespace, BACKOFF_BASE: '20ms', BACKOFF_MAX: '2s' }),
      logger: quietLogger(),
    });
    manager.addController(
      annotatingController({
        client: manager.client,
        identity: 'in-process',
        records,
        before: (k, attempt) => behaviour.get(k.name)?.(attempt),
      }),
    );
    await manager.start();
  });

  after(async () => {
    await manager.stop();
    await api.client.delete(coreResources.namespace, { namespace: '', name: namespace });
    await api.close();
  });

  it('reconciles an object when it is created, updated and deleted', async () => {
    await api.client.create(coreResources.configMap, cm('lifecycle', 'v1'));
    await eventually('the new object is reconciled and annotated', async () => {
      const live = await api.client.get<ConfigMap>(coreResources.configMap, key('lifecycle'));
      return live?.metadata.annotations?.[RECONCILED_BY] === 'in-process';
    });
    await api.client.mergePatch(coreResources.configMap, key('lifecycle'), { data: { value: 'v2' } });
    await eventually('the update is reconciled', () => of('lifecycle').some((r) => r.value === 'v2'));
    await api.client.delete(coreResources.configMap, key('lifecycle'));
    await eventually('the deletion is reconciled', () => of('lifecycle').some((r) => !r.exists));
    assert.equal(of('lifecycle')[0]?.value, 'v1');
  });

  it("caches objects without managedFields or kubectl's copy of the last applied object", async () => {
    const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
    await api.client.create(
      coreResources.configMap,
      cm('applied', 'v1', { annotations: { [lastApplied]: '{"data":{"value":"v1"}}', team: 'a' } }),
    );
    const live = await api.client.get<ConfigMap>(coreResources.configMap, key('applied'));
    assert.ok(live?.metadata.managedFields, 'the API server keeps managedFields');
    const informer = manager.informer<ConfigMap>(coreResources.configMap, { labelSelector: TEST_LABEL });
    const cached = await eventually('the object in the cache', () => informer.get(key('applied')));
    assert.equal(cached.metadata.managedFields, undefined);
    assert.equal(cached.metadata.annotations?.team, 'a');
    assert.equal(cached.metadata.annotations[lastApplied], undefined);
  });

  it('ignores objects its label selector does not match', async () => {
    await api.client.create(coreResources.configMap, {
      metadata: { name: 'unlabelled', namespace },
      data: {},
    });
    await api.client.create(coreResources.configMap, cm('labelled', 'x'));
    await eventually('the labelled object is reconciled', () => of('labelled').length > 0);
    assert.equal(of('unlabelled').length, 0);
  });

  it('coalesces a burst of updates that arrive while the object is being reconciled', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    behaviour.set('burst', (attempt) => (attempt === 1 ? held : undefined));
    await api.client.create(coreResources.configMap, cm('burst', '0'));
    await eventually('the first reconcile is running', () => of('burst').length === 1);
    for (let i = 1; i <= 20; i++) {
      await api.client.mergePatch(coreResources.configMap, key('burst'), { data: { value: String(i) } });
    }
    await eventually(
      'the cache holds the last update',
      () => manager.hasSynced() && cached('burst') === '20',
    );
    release();
    await eventually('the last value is reconciled', () => of('burst').some((r) => r.value === '20'));
    // The second reconcile's own annotation write may cause at most one more.
    await sleep(300);
    assert.ok(of('burst').length <= 3, `21 changes gave ${of('burst').length} reconciles`);
  });

  it('retries a failing reconcile with growing delays and stops once it succeeds', async () => {
    behaviour.set('flaky', (attempt) => {
      if (attempt <= 4) throw new Error(`attempt ${attempt} fails`);
    });
    await api.client.create(coreResources.configMap, cm('flaky', 'x'));
    await eventually('the fifth attempt succeeds', async () => {
      const live = await api.client.get<ConfigMap>(coreResources.configMap, key('flaky'));
      return live?.metadata.annotations?.[RECONCILED_BY] === 'in-process';
    });
    const times = of('flaky').map((r) => r.at);
    // 20 ms doubling: each retry waits at least as long as its backoff.
    for (let i = 1; i <= 4; i++) {
      assert.ok(times[i]! - times[i - 1]! >= 20 * 2 ** (i - 1) - 2, `retry ${i} came after its backoff`);
    }
    const settled = of('flaky').length;
    await sleep(500);
    // At most one more: the reconcile triggered by its own annotation.
    assert.ok(of('flaky').length <= settled + 1, 'a successful reconcile is not retried');
    const errors = (await manager.metrics.reconcileErrors.get()).values[0]?.value;
    assert.equal(errors, 4);
  });

  function cached(name: string): string | undefined {
    return manager.informer<ConfigMap>(coreResources.configMap, { labelSelector: TEST_LABEL }).get(key(name))
      ?.data?.value;
  }
});
