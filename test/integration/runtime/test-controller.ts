// The runtime's test controller: reconciles ConfigMaps labelled for the test by writing an annotation that
// names the process which reconciled them, and records every reconcile it runs.
import type { ControllerDefinition } from '../../../src/runtime/controller.ts';
import type { KubeClient } from '../../../src/runtime/kube-client.ts';
import { coreResources } from '../../../src/runtime/resource.ts';
import type { KubeObject, ObjectKey } from '../../../src/runtime/resource.ts';

export const TEST_LABEL = 'warren.dev/runtime-test';
export const RECONCILED_BY = 'warren.dev/reconciled-by';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export interface ReconcileRecord {
  key: ObjectKey;
  /** The object as the cache had it, or undefined once deleted. */
  value: string | undefined;
  exists: boolean;
  at: number;
}

export function annotatingController(options: {
  client: KubeClient;
  identity: string;
  records?: ReconcileRecord[];
  /** Runs first in every reconcile: tests make it throw or wait. */
  before?: (key: ObjectKey, attempt: number) => Promise<void> | void;
  onReconciled?: (key: ObjectKey) => void;
}): ControllerDefinition<ConfigMap> {
  const attempts = new Map<string, number>();
  return {
    name: 'configmap-annotator',
    resource: coreResources.configMap,
    labelSelector: TEST_LABEL,
    async reconcile(key, ctx) {
      const id = `${key.namespace}/${key.name}`;
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const obj = ctx.cache.get(key);
      options.records?.push({ key, value: obj?.data?.value, exists: obj !== undefined, at: Date.now() });
      await options.before?.(key, attempt);
      if (obj && obj.metadata.annotations?.[RECONCILED_BY] !== options.identity) {
        // Logged before the write goes out: the last such line is the last write this process attempted.
        ctx.log.info('writing');
        // With the reconcile's signal, as every reconciler does: an abandoned reconcile writes nothing more.
        await options.client.withSignal(ctx.signal).mergePatch(coreResources.configMap, key, {
          metadata: { annotations: { [RECONCILED_BY]: options.identity } },
        });
      }
      ctx.log.info({ exists: obj !== undefined }, 'reconciled');
      options.onReconciled?.(key);
    },
  };
}
