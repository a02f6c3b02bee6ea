// Provisional shape of a RabbitmqCluster, mirroring the upstream field names, until src/api lands.
import type {
  V1Affinity,
  V1LocalObjectReference,
  V1ResourceRequirements,
  V1Toleration,
} from '@kubernetes/client-node';

export interface RabbitmqClusterSpec {
  replicas?: number;
  image?: string;
  imagePullSecrets?: V1LocalObjectReference[];
  service?: {
    type?: 'ClusterIP' | 'LoadBalancer' | 'NodePort';
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  };
  persistence?: {
    storageClassName?: string;
    storage?: string;
    emptyDir?: { medium?: string; sizeLimit?: string };
    /** Warren: what happens to the PVCs when the cluster is deleted (upstream deletes them). */
    deleteOnClusterDeletion?: boolean;
  };
  resources?: V1ResourceRequirements;
  affinity?: V1Affinity;
  tolerations?: V1Toleration[];
  rabbitmq?: {
    additionalPlugins?: string[];
    additionalConfig?: string;
    advancedConfig?: string;
    envConfig?: string;
    erlangInetConfig?: string;
  };
  tls?: {
    secretName?: string;
    caSecretName?: string;
    disableNonTLSListeners?: boolean;
    managed?: { duration?: string; renewBefore?: string };
  };
  override?: {
    statefulSet?: Record<string, unknown>;
    service?: Record<string, unknown>;
  };
  skipPostDeploySteps?: boolean;
  autoEnableAllFeatureFlags?: boolean;
  terminationGracePeriodSeconds?: number;
  delayStartSeconds?: number;
}

export interface RabbitmqCluster {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  spec: RabbitmqClusterSpec;
}
