import { after, before, describe, it } from 'node:test';
import { Manager } from '../../../src/runtime/manager.ts';
import { coreResources } from '../../../src/runtime/resource.ts';
import { annotatingController, RECONCILED_BY, TEST_LABEL } from './test-controller.ts';
import type { ConfigMap } from './test-controller.ts';
import { failOnUnhandled, quietLogger, testSettings, useApi } from './support.ts';
import { createNamespace, eventually } from '../../env/shared.ts';
import type { Api } from './support.ts';

failOnUnhandled();

async function counter(manager: Manager, name: 'watchErrors' | 'watchConnects'): Promise<number> {
  return (await manager.metrics[name].get()).values.reduce((sum, v) => sum + v.value, 0);
}

describe('A kube-apiserver restart in the middle of a run', () => {
  let api: Api;
  let manager: Manager;
  let namespace: string;

  before(async () => {
    api = await useApi({ dedicated: true });
    namespace = await createNamespace('runtime-restart', api.kubeConfig);
    manager = new Manager({
      apiServer: api.apiServer,
      settings: testSettings({ WATCH_NAMESPACES: namespace }),
      logger: quietLogger(),
    });
    manager.addController(annotatingController({ client: manager.client, identity: 'survivor' }));
    await manager.start();
  });

  after(async () => {
    await manager.stop();
    await api.close();
  });

  const create = (name: string) =>
    api.client.create<ConfigMap>(coreResources.configMap, {
      metadata: { name, namespace, labels: { [TEST_LABEL]: 'yes' } },
      data: { value: name },
    });
  const annotated = async (name: string) =>
    (await api.client.get<ConfigMap>(coreResources.configMap, { namespace, name }))?.metadata.annotations?.[
      RECONCILED_BY
    ] === 'survivor';

  it('reconciles objects created before, during the reconnect and after, without a process restart', async () => {
    const plane = api.controlPlane!;
    await create('before');
    await eventually('the first object is reconciled', () => annotated('before'));

    const errorsBefore = await counter(manager, 'watchErrors');
    const connectsBefore = await counter(manager, 'watchConnects');
    await plane.stopApiServer();
    await eventually(
      'the informer notices the outage',
      async () => (await counter(manager, 'watchErrors')) > errorsBefore,
    );
    await plane.startApiServer();
    // The informer is most likely still backing off: these arrive while it is not watching.
    await create('while-away-1');
    await create('while-away-2');
    await eventually(
      'the informer watches again',
      async () => (await counter(manager, 'watchConnects')) > connectsBefore,
      { timeoutMs: 60_000 },
    );
    await create('after');
    for (const name of ['while-away-1', 'while-away-2', 'after']) {
      await eventually(`${name} is reconciled`, () => annotated(name), { timeoutMs: 60_000 });
    }
  });
});
