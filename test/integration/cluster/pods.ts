// What the tests of RabbitmqClusters on real pods share: kubectl, the cluster's Service and credentials, a
// publisher with confirms that keeps going through a roll, a drain of a queue that counts every message, and a
// watch of the pods that records how a roll went.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import amqp from 'amqplib';
import { rabbitmqClusterResource } from '../../../src/api/index.ts';
import {
  coreResources,
  type Condition,
  type KubeClient,
  type KubeObject,
} from '../../../src/runtime/index.ts';
import { eventually } from '../../env/shared.ts';
import { NODE_OWNER_FILE, readNodeRecord } from '../../env/node/teardown.ts';

export function kubectl(args: readonly string[], input?: string): string {
  return execFileSync('kubectl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function secretValue(namespace: string, name: string, key: string): string {
  // A dot in a key (ca.crt) is escaped, or jsonpath reads it as a path.
  const path = key.replaceAll('.', '\\.');
  const encoded = kubectl(['get', 'secret', '-n', namespace, name, '-o', `jsonpath={.data.${path}}`]);
  return Buffer.from(encoded, 'base64').toString('utf8');
}

/**
 * Gives an image the test node holds a second reference (`ctr images tag`): the same layers under another name,
 * which is an image change to a StatefulSet without building or importing anything.
 */
export function tagNodeImage(source: string, target: string): void {
  const record = readNodeRecord(readFileSync(NODE_OWNER_FILE, 'utf8').trim());
  if (!record) throw new Error('the test node left no record of its containerd');
  execFileSync(record.ctr, [
    '-a',
    record.containerdSocket,
    '-n',
    'k8s.io',
    'images',
    'tag',
    '--force',
    source,
    target,
  ]);
}

/** The cluster's client Service address and its default user, as a client outside the pods uses them. */
export interface ClusterAccess {
  host: string;
  username: string;
  password: string;
}

export function clusterAccess(namespace: string, cluster: string): ClusterAccess {
  return {
    host: kubectl(['get', 'service', '-n', namespace, cluster, '-o', 'jsonpath={.spec.clusterIP}']),
    username: secretValue(namespace, `${cluster}-default-user`, 'username'),
    password: secretValue(namespace, `${cluster}-default-user`, 'password'),
  };
}

export function amqpUrl(access: ClusterAccess, vhost = '/'): string {
  const user = encodeURIComponent(access.username);
  const pass = encodeURIComponent(access.password);
  return `amqp://${user}:${pass}@${access.host}:5672/${encodeURIComponent(vhost)}`;
}

/** A management API request through the client Service as the default user. */
export async function management<T>(access: ClusterAccess, path: string, init: RequestInit = {}): Promise<T> {
  const auth = Buffer.from(`${access.username}:${access.password}`).toString('base64');
  const response = await fetch(`http://${access.host}:15672/api${path}`, {
    ...init,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status}`);
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** `rabbitmq-diagnostics cluster_status` inside a broker pod: the nodes it sees running. */
export function runningNodes(namespace: string, pod: string): string[] {
  const status = JSON.parse(
    kubectl([
      'exec',
      '-n',
      namespace,
      pod,
      '-c',
      'rabbitmq',
      '--',
      'rabbitmq-diagnostics',
      'cluster_status',
      '--formatter',
      'json',
    ]),
  ) as { running_nodes: string[] };
  return status.running_nodes;
}

/** Declares a durable quorum queue with one member on every node of the cluster. */
export async function declareQuorumQueue(url: string, queue: string): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  } finally {
    await connection.close();
  }
}

export interface PublishReport {
  sent: number;
  confirmed: number;
  /** Ids of the confirmed messages: each must be consumed exactly once. */
  confirmedIds: Set<number>;
  /** The longest time without a confirm while the publisher ran, in seconds (reconnections included). */
  longestStallSeconds: number;
  reconnections: number;
}

/**
 * Publishes numbered persistent messages to a queue one after another, each waiting for its confirm, until
 * stopped. A lost connection or a confirm that does not come within 30 s ends that connection; the publisher
 * connects again through the Service and goes on with the next number. A message is never sent twice, so a
 * message whose confirm was lost may or may not be in the queue, but a confirmed one must be.
 */
export class ConfirmedPublisher {
  readonly #url: string;
  readonly #queue: string;
  #stopped = false;
  #done: Promise<void> | undefined;
  #next = 0;
  #confirmedIds = new Set<number>();
  #lastConfirm = 0;
  #longestStall = 0;
  #reconnections = -1;

  constructor(url: string, queue: string) {
    this.#url = url;
    this.#queue = queue;
  }

  start(): void {
    this.#lastConfirm = Date.now();
    this.#done = this.#run();
  }

  /** Waits until `count` more messages are confirmed (the publisher makes progress). */
  async confirmedMore(count: number, timeoutMs = 60_000): Promise<void> {
    const target = this.#confirmedIds.size + count;
    const deadline = Date.now() + timeoutMs;
    while (this.#confirmedIds.size < target) {
      if (Date.now() > deadline) throw new Error(`the publisher confirmed fewer than ${count} more messages`);
      await sleep(100);
    }
  }

  async stop(): Promise<PublishReport> {
    this.#stopped = true;
    await this.#done;
    return {
      sent: this.#next,
      confirmed: this.#confirmedIds.size,
      confirmedIds: this.#confirmedIds,
      longestStallSeconds: this.#longestStall / 1000,
      reconnections: this.#reconnections,
    };
  }

  #confirmed(id: number): void {
    const now = Date.now();
    this.#longestStall = Math.max(this.#longestStall, now - this.#lastConfirm);
    this.#lastConfirm = now;
    this.#confirmedIds.add(id);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let connection: amqp.ChannelModel | undefined;
      try {
        connection = await amqp.connect(this.#url, { timeout: 5000 });
        connection.on('error', () => {});
        this.#reconnections += 1;
        const channel = await connection.createConfirmChannel();
        channel.on('error', () => {});
        while (!this.#stopped) {
          const id = this.#next++;
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no confirm within 30 s')), 30_000);
            channel.sendToQueue(
              this.#queue,
              Buffer.from(String(id)),
              { persistent: true, messageId: String(id) },
              (err) => {
                clearTimeout(timer);
                if (err) reject(err instanceof Error ? err : new Error(String(err)));
                else resolve();
              },
            );
          });
          this.#confirmed(id);
        }
      } catch {
        await sleep(200);
      } finally {
        await connection?.close().catch(() => {});
      }
    }
  }
}

export interface DrainReport {
  /** How many times each message id was delivered. */
  deliveries: Map<number, number>;
  consumed: number;
  duplicates: number;
}

/** Consumes and acknowledges every message of a queue until it stays empty. */
export async function drainQueue(url: string, queue: string): Promise<DrainReport> {
  const deliveries = new Map<number, number>();
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(500);
    let last = Date.now();
    await channel.consume(queue, (message) => {
      if (!message) return;
      const id = Number(message.content.toString());
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
      last = Date.now();
      channel.ack(message);
    });
    for (;;) {
      await sleep(500);
      const { messageCount } = await channel.checkQueue(queue);
      if (messageCount === 0 && Date.now() - last > 2000) break;
    }
  } finally {
    await connection.close();
  }
  let duplicates = 0;
  for (const count of deliveries.values()) duplicates += count - 1;
  return { deliveries, consumed: deliveries.size, duplicates };
}

/** One observation of a cluster's pods (and of the nodes the management API reports) during a roll. */
export interface PodSample {
  at: number;
  pods: { name: string; uid: string; ready: boolean; deleting: boolean }[];
  /** Node names the management API reports running, when it answered. */
  runningNodes?: string[];
}

/**
 * Samples the cluster's pods every second until stopped, and reports how the roll went: the order in which the
 * pods were replaced, and whether each was replaced only while every other broker was Ready and running.
 */
export class RollWatcher {
  readonly samples: PodSample[] = [];
  #stopped = false;
  #done: Promise<void> | undefined;

  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #cluster: string;
  readonly #access: ClusterAccess;

  constructor(client: KubeClient, namespace: string, cluster: string, access: ClusterAccess) {
    this.#client = client;
    this.#namespace = namespace;
    this.#cluster = cluster;
    this.#access = access;
  }

  start(): void {
    this.#done = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        const list = await this.#client.list<KubeObject>(coreResources.pod, {
          namespace: this.#namespace,
          labelSelector: `app.kubernetes.io/name=${this.#cluster}`,
        });
        const pods = (list.items as V1Pod[]).map((pod) => ({
          name: pod.metadata?.name ?? '',
          uid: pod.metadata?.uid ?? '',
          ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
          deleting: pod.metadata?.deletionTimestamp !== undefined,
        }));
        const nodes = await management<{ name: string; running: boolean }[]>(this.#access, '/nodes').then(
          (all) => all.filter((n) => n.running).map((n) => n.name),
          () => undefined,
        );
        this.samples.push({ at: Date.now(), pods, ...(nodes ? { runningNodes: nodes } : {}) });
      } catch {
        // A missed sample: the next one comes a second later.
      }
      await sleep(1000);
    }
  }

  /**
   * The pods in the order their replacement began (first seen deleting or gone), each with whether, in that same
   * sample, every other pod was Ready and not deleting, and whether the management API listed every broker running
   * in that sample or the one before (the StatefulSet deletes the next pod within the second its predecessor turns
   * Ready, so the sample before can predate that).
   */
  replacements(
    replicas: number,
  ): { pod: string; seconds: number; othersReady: boolean; allRunning: boolean | undefined }[] {
    const first = this.samples[0];
    if (!first) return [];
    const originalUid = new Map(first.pods.map((p) => [p.name, p.uid]));
    const seen = new Set<string>();
    const result = [];
    for (let i = 1; i < this.samples.length; i++) {
      const sample = this.samples[i]!;
      for (const [name, uid] of originalUid) {
        if (seen.has(name)) continue;
        const now = sample.pods.find((p) => p.name === name);
        if (now && now.uid === uid && !now.deleting) continue;
        seen.add(name);
        const others = sample.pods.filter((p) => p.name !== name);
        const nodes = [sample, this.samples[i - 1]!].flatMap((s) => (s.runningNodes ? [s.runningNodes] : []));
        result.push({
          pod: name,
          seconds: (sample.at - first.at) / 1000,
          othersReady: others.length === replicas - 1 && others.every((p) => p.ready && !p.deleting),
          allRunning: nodes.length > 0 ? nodes.some((n) => n.length === replicas) : undefined,
        });
      }
    }
    return result;
  }

  /** The most pods that were not Ready (or missing, or deleting) at once. */
  mostUnavailable(replicas: number): number {
    return Math.max(
      0,
      ...this.samples.map((s) => replicas - s.pods.filter((p) => p.ready && !p.deleting).length),
    );
  }
}

/** The status conditions of a RabbitmqCluster, by type. */
export async function clusterConditions(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<Record<string, string>> {
  const cluster = await client.get<KubeObject>(rabbitmqClusterResource, { namespace, name });
  const list = (cluster?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  return Object.fromEntries(list.map((c) => [c.type, c.status]));
}

/** Waits until AllReplicasReady and ClusterAvailable are True; returns the seconds that took. */
export async function availableAfter(client: KubeClient, namespace: string, name: string): Promise<number> {
  const started = Date.now();
  await eventually(
    `${name} to be available`,
    async () => {
      const now = await clusterConditions(client, namespace, name);
      return now.AllReplicasReady === 'True' && now.ClusterAvailable === 'True';
    },
    { timeoutMs: 600_000, intervalMs: 1000 },
  );
  return (Date.now() - started) / 1000;
}

interface StatefulSetState {
  metadata: { generation: number };
  status: {
    observedGeneration?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
  };
}

export function statefulSetOf(namespace: string, name: string): StatefulSetState {
  return JSON.parse(
    kubectl(['get', 'statefulset', '-n', namespace, `${name}-server`, '-o', 'json']),
  ) as StatefulSetState;
}

/** Waits until the StatefulSet has moved past `generation` and every pod runs its newest revision, Ready. */
export async function rolledOut(namespace: string, name: string, generation: number, replicas: number) {
  await eventually(
    `${name}: the StatefulSet to roll`,
    () => {
      const { metadata, status } = statefulSetOf(namespace, name);
      return (
        metadata.generation > generation &&
        status.observedGeneration === metadata.generation &&
        status.updatedReplicas === replicas &&
        status.readyReplicas === replicas &&
        status.currentRevision === status.updateRevision
      );
    },
    { timeoutMs: 900_000, intervalMs: 1000 },
  );
}

export interface RollReport {
  rollSeconds: number;
  sent: number;
  confirmed: number;
  consumed: number;
  longestStallSeconds: number;
}

/**
 * Applies a change to the cluster's spec that rolls the brokers while a publisher with confirms sends to a
 * three-replica quorum queue, waits until the roll is done, drains the queue, prints what happened and checks
 * it: the pods were replaced one at a time, highest ordinal first, each only while every other broker was Ready
 * and running in the cluster; every confirmed message was consumed exactly once.
 */
export async function rollWhilePublishing(options: {
  client: KubeClient;
  namespace: string;
  name: string;
  replicas: number;
  change: Record<string, unknown>;
  what: string;
}): Promise<RollReport> {
  const { client, namespace, name, replicas, what } = options;
  const access = clusterAccess(namespace, name);
  const url = amqpUrl(access);
  const queue = `roll-${Date.now()}`;
  await declareQuorumQueue(url, queue);
  const publisher = new ConfirmedPublisher(url, queue);
  publisher.start();
  await publisher.confirmedMore(50);
  const watcher = new RollWatcher(client, namespace, name, access);
  watcher.start();
  await sleep(1500);
  const generation = statefulSetOf(namespace, name).metadata.generation;
  const started = Date.now();
  await client.mergePatch(rabbitmqClusterResource, { namespace, name }, { spec: options.change });
  try {
    await rolledOut(namespace, name, generation, replicas);
  } finally {
    await watcher.stop();
  }
  const rollSeconds = (Date.now() - started) / 1000;
  await availableAfter(client, namespace, name);
  await publisher.confirmedMore(50);
  const published = await publisher.stop();
  const drained = await drainQueue(url, queue);
  const lost = [...published.confirmedIds].filter((id) => !drained.deliveries.has(id));
  const replaced = watcher.replacements(replicas);
  process.stderr.write(
    `${what}: rolled in ${rollSeconds.toFixed(1)}s, pods replaced in order ${replaced
      .map((r) => `${r.pod}@${r.seconds.toFixed(0)}s`)
      .join(', ')}; at most ${watcher.mostUnavailable(replicas)} broker(s) unavailable at once; ` +
      `sent ${published.sent}, confirmed ${published.confirmed}, consumed ${drained.consumed} ` +
      `(duplicates ${drained.duplicates}, confirmed but lost ${lost.length}), ` +
      `longest publish stall ${published.longestStallSeconds.toFixed(1)}s, ` +
      `${published.reconnections} reconnection(s)\n`,
  );
  assert.deepEqual(
    replaced.map((r) => r.pod),
    Array.from({ length: replicas }, (_, i) => `${name}-server-${replicas - 1 - i}`),
    'the pods are replaced one by one, highest ordinal first',
  );
  for (const r of replaced) {
    assert.ok(r.othersReady, `${r.pod} was replaced while another broker was not Ready`);
    assert.notEqual(r.allRunning, false, `${r.pod} was replaced while a broker was out of the cluster`);
  }
  assert.equal(watcher.mostUnavailable(replicas), 1, 'one broker at a time is unavailable');
  assert.deepEqual(lost, [], 'every confirmed message is consumed');
  assert.equal(drained.duplicates, 0, 'no message is consumed twice');
  assert.ok(
    [...drained.deliveries.keys()].every((id) => id < published.sent),
    'only messages that were sent are consumed',
  );
  assert.equal(runningNodes(namespace, `${name}-server-0`).length, replicas);
  return {
    rollSeconds,
    sent: published.sent,
    confirmed: published.confirmed,
    consumed: drained.consumed,
    longestStallSeconds: published.longestStallSeconds,
  };
}
