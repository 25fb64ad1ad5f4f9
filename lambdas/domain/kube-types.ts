/**
 * The shapes of the Kubernetes objects the product reads and writes, as they travel as JSON: the
 * kubernetes-types package's (time as RFC 3339 text, as the apiserver sends it), with the few fields
 * every object the product handles has made required. Type-only: nothing of it reaches a bundle.
 */
import type { Job } from 'kubernetes-types/batch/v1';
import type { Lease, LeaseSpec } from 'kubernetes-types/coordination/v1';
import type { ConfigMap, Node, Pod, Secret } from 'kubernetes-types/core/v1';
import type { ObjectMeta as LibraryObjectMeta } from 'kubernetes-types/meta/v1';
import { NODE_TASK_API_VERSION } from './node-task-kind';

export type { OwnerReference } from 'kubernetes-types/meta/v1';
export type { Container, EnvVar, PodSpec, Volume, VolumeMount } from 'kubernetes-types/core/v1';

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

/** Every object the product names, writes or reads back has a name. */
export type ObjectMeta = LibraryObjectMeta & { name: string };

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

/** A library type with the envelope every product object has: its kind, API version and named metadata. */
export type Shaped<T, K extends ObjectKind> = Omit<T, 'apiVersion' | 'kind' | 'metadata'> &
  KubeObject & { kind: K };

export type ConfigMapObject = Shaped<ConfigMap, 'ConfigMap'>;
export type SecretObject = Shaped<Secret, 'Secret'>;
/** A Lease always has a spec: the lock and direct mode's records are nothing but their spec. */
export type LeaseObject = Shaped<Lease, 'Lease'> & { spec: LeaseSpec };
export type NodeObject = Shaped<Node, 'Node'>;
export type JobObject = Shaped<Job, 'Job'>;
export type PodObject = Shaped<Pod, 'Pod'>;
