/**
 * The shapes of the Kubernetes objects the product reads and writes, as they travel as JSON.
 */
import { NODE_TASK_API_VERSION } from './node-task-kind';

export type ObjectKind =
  | 'ConfigMap'
  | 'Secret'
  | 'Job'
  | 'Lease'
  | 'Event'
  | 'Node'
  | 'Pod'
  | 'CustomResourceDefinition'
  | 'NodeTask';

export const API_VERSIONS: Record<ObjectKind, string> = {
  ConfigMap: 'v1',
  Secret: 'v1',
  Event: 'v1',
  Node: 'v1',
  Pod: 'v1',
  Job: 'batch/v1',
  Lease: 'coordination.k8s.io/v1',
  CustomResourceDefinition: 'apiextensions.k8s.io/v1',
  NodeTask: NODE_TASK_API_VERSION,
};

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  /** Set while the object is being deleted (a terminating Pod still runs its processes). */
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface ConfigMapObject extends KubeObject {
  kind: 'ConfigMap';
  data?: Record<string, string>;
}

export interface SecretObject extends KubeObject {
  kind: 'Secret';
  type?: string;
  /** Base64 values, as the apiserver returns them. */
  data?: Record<string, string>;
  /** Plain values, write-only. */
  stringData?: Record<string, string>;
}

export interface LeaseObject extends KubeObject {
  kind: 'Lease';
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    /** RFC 3339 with microseconds (MicroTime). */
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface NodeAddress {
  type: string;
  address: string;
}

export interface NodeObject extends KubeObject {
  kind: 'Node';
  status?: {
    addresses?: NodeAddress[];
    conditions?: Array<{ type: string; status: string; reason?: string }>;
  };
}

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface EnvVar {
  name: string;
  value: string;
}

export interface Volume {
  name: string;
  configMap?: { name: string; defaultMode?: number };
  secret?: { secretName: string; defaultMode?: number };
  hostPath?: { path: string; type?: string };
  emptyDir?: Record<string, never>;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy: string;
  command: string[];
  env: EnvVar[];
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  securityContext: Record<string, unknown>;
  terminationMessagePolicy: 'File' | 'FallbackToLogsOnError';
  resources?: Record<string, unknown>;
}

export interface PodSpec {
  restartPolicy: 'Never';
  automountServiceAccountToken: boolean;
  enableServiceLinks: boolean;
  hostNetwork: boolean;
  dnsPolicy: string;
  affinity?: Record<string, unknown>;
  tolerations: Array<{ key: string; operator: string; effect: string }>;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Volume[];
}

export interface JobObject extends KubeObject {
  kind: 'Job';
  spec?: {
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
    completions?: number;
    parallelism?: number;
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: PodSpec;
    };
  };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    conditions?: JobCondition[];
  };
}

export interface PodObject extends KubeObject {
  kind: 'Pod';
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: Array<{
      name: string;
      state?: {
        terminated?: { exitCode?: number; reason?: string; message?: string };
        waiting?: { reason?: string; message?: string };
      };
    }>;
  };
}
