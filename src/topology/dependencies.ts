// Who depends on what, so that watch events and broker drift enqueue exactly the affected objects. A target is
// a string naming one thing an object depends on: a Secret, a RabbitmqCluster, a User, or a broker object.
import { keyString, type ObjectKey } from '../runtime/resource.ts';
import type { BrokerKey } from './kinds/types.ts';

/** A Secret or RabbitmqCluster by namespace and name. */
interface NamespacedName {
  namespace: string;
  name: string;
}

/** Who depends on what, so that watch events and drift enqueue exactly the affected objects. */
export class DependencyIndex {
  readonly #byTarget = new Map<string, Map<string, { controller: string; key: ObjectKey }>>();
  readonly #byObject = new Map<string, Set<string>>();

  /** Records that `key` of `controller` depends on `targets` (replacing what it depended on before). */
  set(controller: string, key: ObjectKey, targets: readonly string[]): void {
    const id = `${controller}\0${keyString(key)}`;
    this.forget(controller, key);
    this.#byObject.set(id, new Set(targets));
    for (const target of targets) {
      let dependents = this.#byTarget.get(target);
      if (!dependents) {
        dependents = new Map<string, { controller: string; key: ObjectKey }>();
        this.#byTarget.set(target, dependents);
      }
      dependents.set(id, { controller, key });
    }
  }

  forget(controller: string, key: ObjectKey): void {
    const id = `${controller}\0${keyString(key)}`;
    for (const target of this.#byObject.get(id) ?? []) {
      const dependents = this.#byTarget.get(target);
      dependents?.delete(id);
      if (dependents?.size === 0) this.#byTarget.delete(target);
    }
    this.#byObject.delete(id);
  }

  dependents(target: string): { controller: string; key: ObjectKey }[] {
    return [...(this.#byTarget.get(target)?.values() ?? [])];
  }
}

export const targets = {
  secret: (s: NamespacedName) => `secret\0${s.namespace}\0${s.name}`,
  cluster: (c: NamespacedName) => `cluster\0${c.namespace}\0${c.name}`,
  user: (namespace: string, name: string) => `user\0${namespace}\0${name}`,
  broker: (brokerId: string, key: BrokerKey) => `broker\0${brokerId}\0${key.kind}\0${key.key}`,
};
