/**
 * What verify reads from a cluster, as plain data: the ClusterView interface. kube.ts implements
 * it over the Kubernetes API; the tests implement it with a fake, so the flow and the diagnosis
 * never see a Kubernetes client type.
 */
import type { AppNames } from '../names.js';

/** A Deployment by namespace and name (names.ts holds the bundle's defaults). */
export type Target = AppNames;

export interface DeploymentState {
  readonly name: string;
  readonly namespace: string;
  /** spec.selector.matchLabels as a label selector string. */
  readonly selector: string;
  readonly desired: number;
  readonly updated: number;
  readonly available: number;
  /** status.replicas: includes pods of old ReplicaSets still running. */
  readonly current: number;
  readonly generation: number;
  readonly observedGeneration: number;
  /** The ReplicaSet of the current pod template (revision), when it can be told; its pods are the ones that count. */
  readonly replicaSet?: string;
}

export interface ContainerState {
  readonly name: string;
  readonly ready: boolean;
  readonly restartCount: number;
  /** running | waiting | terminated | unknown */
  readonly state: string;
  readonly reason?: string;
  readonly message?: string;
  /** e.g. "terminated (Error, exit 1)" */
  readonly lastState?: string;
}

/** A pod condition (PodScheduled, Ready, ...), as status.conditions has it. */
export interface PodCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface PodState {
  readonly name: string;
  readonly namespace: string;
  readonly phase: string;
  readonly ready: boolean;
  readonly terminating: boolean;
  readonly createdAt: number;
  readonly containers: readonly ContainerState[];
  /** The ReplicaSet that owns the pod. */
  readonly replicaSet?: string;
  readonly conditions?: readonly PodCondition[];
}

/** What verify reads from a cluster. */
export interface ClusterView {
  deployment(namespace: string, name: string): Promise<DeploymentState | undefined>;
  pods(namespace: string, selector: string): Promise<PodState[]>;
  /** Streams the container's log from its start, line by line, until `signal` aborts or the stream ends. */
  followLog(namespace: string, pod: string, container: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void>;
  /**
   * The last `lines` lines of the container's log. With `timestamps`, each line starts with the
   * time the container runtime received it (RFC 3339, UTC) and a space, as `kubectl logs --timestamps`.
   */
  tailLog(namespace: string, pod: string, container: string, lines: number, previous: boolean, timestamps?: boolean): Promise<string>;
  /** Recent events of a namespace, oldest first, one formatted line each. */
  events(namespace: string, limit: number): Promise<string[]>;
}
