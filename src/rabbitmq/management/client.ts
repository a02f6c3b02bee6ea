// The management API, typed: reads return the broker's shapes (types.ts), and every write is a BrokerOp
// (operations.ts) that `apply` sends and then hands to the write listeners, so the shared snapshot records
// exactly the operation that succeeded. The named write methods are conveniences that build an operation.
import { BrokerError, isBrokerError } from '../errors.ts';
import { sameArguments } from '../normalise.ts';
import {
  apiPath,
  bindingsPath,
  isDeletion,
  secretsOf,
  segment,
  wireRequest,
  type BrokerOp,
} from '../operations.ts';
import { defaultHashingAlgorithm, hashPassword } from '../passwords.ts';
import { policyGateClaim } from '../policy-gate.ts';
import type {
  Binding,
  BrokerEndpoint,
  Definitions,
  DestinationType,
  Exchange,
  ExchangeSettings,
  ListedBinding,
  ListedVhost,
  Overview,
  Parameter,
  Permission,
  PermissionSettings,
  Policy,
  PolicySettings,
  QueueDetails,
  QueueSettings,
  TopicPermission,
  TopicPermissionSettings,
  User,
  UserSettings,
  VhostSettings,
} from '../types.ts';
import {
  ManagementTransport,
  type HttpMethod,
  type ManagementClientOptions,
  type RawResponse,
  type RequestOptions,
} from './transport.ts';

/** A write sent as a raw request: the snapshot cannot model it and refetches. */
export interface UnmodelledWrite {
  op: 'unmodelled';
  method: HttpMethod;
  path: string;
}

export type WriteListener = (write: BrokerOp | UnmodelledWrite) => void;

export class ManagementClient {
  readonly #transport: ManagementTransport;
  readonly #writeListeners = new Set<WriteListener>();

  constructor(endpoint: BrokerEndpoint, options: ManagementClientOptions = {}) {
    this.#transport = new ManagementTransport(endpoint, options);
  }

  /** The broker, independent of credentials (origin and path prefix). */
  get brokerId(): string {
    return this.#transport.brokerId;
  }

  /** The broker and the credentials: clients are shared per key. */
  get key(): string {
    return this.#transport.key;
  }

  /** Epoch milliseconds of the last request (or of creation). */
  get lastUsedAt(): number {
    return this.#transport.lastUsedAt;
  }

  get closed(): boolean {
    return this.#transport.closed;
  }

  async close(): Promise<void> {
    this.#writeListeners.clear();
    await this.#transport.close();
  }

  /** Called after each successful write (the snapshot cache keeps its copy current). */
  onWrite(listener: WriteListener): () => void {
    this.#writeListeners.add(listener);
    return () => this.#writeListeners.delete(listener);
  }

  #wrote(write: BrokerOp | UnmodelledWrite): void {
    for (const listener of this.#writeListeners) listener(write);
  }

  /**
   * A raw request. Reads are what it is for; a write sent this way succeeds like any other, but the snapshot
   * cannot tell what it did and refetches (write through `apply` instead).
   */
  async request(
    method: HttpMethod,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<RawResponse> {
    const response = await this.#transport.request(method, path, body, options);
    if (method !== 'GET') this.#wrote({ op: 'unmodelled', method, path });
    return response;
  }

  /**
   * Performs one write: holds the vhost's policy gate when the operation races a policy change (see
   * policy-gate.ts), sends it, and hands it to the write listeners. A deletion of something already gone
   * leaves the broker as the caller wanted it: it is reported too, and resolves false.
   */
  async apply(op: BrokerOp, signal?: AbortSignal): Promise<boolean> {
    return (await this.#apply(op, signal)).changed;
  }

  async #apply(op: BrokerOp, signal?: AbortSignal): Promise<{ changed: boolean; response?: RawResponse }> {
    let result: { changed: boolean; response?: RawResponse };
    try {
      switch (op.op) {
        case 'deleteBinding':
          result = { changed: await this.#deleteBinding(op.binding, signal) };
          break;
        case 'deleteQueue':
          result = { changed: await this.#deleteQueue(op, signal) };
          break;
        default:
          result = { changed: true, response: await this.#send(op, signal) };
      }
    } catch (error) {
      if (!(isDeletion(op) && isBrokerError(error, 'NotFound'))) throw error;
      result = { changed: false };
    }
    this.#wrote(op);
    return result;
  }

  #send(op: BrokerOp, signal: AbortSignal | undefined, path?: string): Promise<RawResponse> {
    const wire = wireRequest(op);
    const gate = policyGateClaim(op);
    return this.#transport.request(wire.method, path ?? wire.path, wire.body, {
      secrets: secretsOf(op),
      ...(signal === undefined ? {} : { signal }),
      ...(gate === undefined ? {} : { gate }),
    });
  }

  /**
   * Deletes exactly this binding (same routing key and arguments), never a neighbour between the same source
   * and destination. The broker's properties key of a binding with arguments includes a hash clients cannot
   * compute, so it is read from the list. False: already gone.
   */
  async #deleteBinding(binding: Binding, signal?: AbortSignal): Promise<boolean> {
    let listed: ListedBinding[];
    try {
      listed = await this.listBindings(
        binding.vhost,
        binding.source,
        binding.destination_type,
        binding.destination,
        signal,
      );
    } catch (error) {
      if (isBrokerError(error, 'NotFound')) listed = [];
      else throw error;
    }
    const match = listed.find(
      (item) => item.routing_key === binding.routing_key && sameArguments(item.arguments, binding.arguments),
    );
    if (match === undefined) return false;
    const op: BrokerOp = { op: 'deleteBinding', binding };
    await this.#send(op, signal, `${wireRequest(op).path}/${segment(match.properties_key)}`);
    return true;
  }

  /**
   * Deletes a queue. With `ifEmpty`/`ifUnused` the broker refuses (QueueNotEmpty, QueueInUse) a queue that
   * holds messages or has consumers. Quorum queues and streams reject the flags (server#10543); for them the
   * counts are checked first, which leaves a small race the broker cannot close for us (and its statistics
   * lag by up to their 5 s interval).
   */
  async #deleteQueue(op: Extract<BrokerOp, { op: 'deleteQueue' }>, signal?: AbortSignal): Promise<boolean> {
    const { vhost, name } = op;
    try {
      await this.#send(op, signal);
      return true;
    } catch (error) {
      if (!(isBrokerError(error, 'BadRequest') && /not supported by/.test(error.brokerReason ?? ''))) {
        throw error;
      }
    }
    const queue = await this.getQueue(vhost, name, signal);
    if (queue === undefined) return false;
    const path = apiPath('queues', vhost, name);
    if (op.ifEmpty && queue.messages === undefined) {
      // A new queue has no statistics yet: unknown is not empty.
      throw new BrokerError(
        'QueueMessageCountUnknown',
        `queue '${name}' in vhost '${vhost}' reports no message count yet; it is kept until the broker does`,
        { method: 'DELETE', path, transient: true },
      );
    }
    if (op.ifEmpty && (queue.messages ?? 0) > 0) {
      throw new BrokerError(
        'QueueNotEmpty',
        `queue '${name}' in vhost '${vhost}' holds ${queue.messages} messages; it is kept until it is empty`,
        { method: 'DELETE', path },
      );
    }
    if (op.ifUnused && (queue.consumers ?? 0) > 0) {
      throw new BrokerError(
        'QueueInUse',
        `queue '${name}' in vhost '${vhost}' has ${queue.consumers} consumers; it is kept until it is unused`,
        { method: 'DELETE', path },
      );
    }
    await this.#send({ ...op, ifEmpty: false, ifUnused: false }, signal);
    return true;
  }

  async #json<T>(path: string, options?: RequestOptions): Promise<T> {
    const response = await this.#transport.request('GET', path, undefined, options);
    if (response.text === '') return undefined as T;
    try {
      return JSON.parse(response.text) as T;
    } catch {
      throw new BrokerError(
        'UnexpectedResponse',
        `GET ${path}: the broker answered with something other than JSON`,
        { status: response.status, method: 'GET', path },
      );
    }
  }

  /** GET that maps 404 to undefined. */
  async #find<T>(path: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.#json<T>(path, { signal });
    } catch (error) {
      if (isBrokerError(error, 'NotFound')) return undefined;
      throw error;
    }
  }

  // ---- broker ----------------------------------------------------------------------------

  overview(): Promise<Overview> {
    return this.#json('/api/overview');
  }

  /** The whole broker's definitions: the bulk read behind the snapshot. */
  definitions(): Promise<Definitions> {
    return this.#json('/api/definitions', { timeoutMs: this.#transport.options.exportTimeoutMs });
  }

  vhostDefinitions(vhost: string): Promise<Definitions> {
    return this.#json(apiPath('definitions', vhost), { timeoutMs: this.#transport.options.exportTimeoutMs });
  }

  // ---- vhosts ----------------------------------------------------------------------------

  /** Vhosts with their settings only (no message statistics). */
  listVhosts(): Promise<ListedVhost[]> {
    return this.#json('/api/vhosts?columns=name,description,tags,tracing,default_queue_type,metadata');
  }

  getVhost(name: string): Promise<ListedVhost | undefined> {
    return this.#find(apiPath('vhosts', name));
  }

  async putVhost(name: string, settings: VhostSettings, signal?: AbortSignal): Promise<void> {
    await this.apply({ op: 'putVhost', name, settings }, signal);
  }

  /** Deletes the vhost and everything in it. */
  deleteVhost(name: string, signal?: AbortSignal): Promise<boolean> {
    return this.apply({ op: 'deleteVhost', name }, signal);
  }

  async getVhostLimits(vhost: string): Promise<Record<string, number>> {
    const list = await this.#json<{ vhost: string; value: Record<string, number> }[]>(
      apiPath('vhost-limits', vhost),
    );
    return list[0]?.value ?? {};
  }

  async putVhostLimit(vhost: string, limit: string, value: number, signal?: AbortSignal): Promise<void> {
    await this.apply({ op: 'putVhostLimit', vhost, limit, value }, signal);
  }

  deleteVhostLimit(vhost: string, limit: string, signal?: AbortSignal): Promise<boolean> {
    return this.apply({ op: 'deleteVhostLimit', vhost, limit }, signal);
  }

  // ---- users -----------------------------------------------------------------------------

  listUsers(): Promise<User[]> {
    return this.#json('/api/users');
  }

  /** Every user's limits, by user. */
  async listUserLimits(): Promise<Map<string, Record<string, number>>> {
    const list = await this.#json<{ user: string; value: Record<string, number> }[]>('/api/user-limits');
    return new Map(list.map((item) => [item.user, item.value]));
  }

  getUser(name: string, signal?: AbortSignal): Promise<User | undefined> {
    return this.#find(apiPath('users', name), signal);
  }

  /**
   * Creates or updates a user. A plain `password` is hashed here (the broker only ever sees the hash, and
   * the snapshot records exactly what was stored).
   */
  async putUser(
    name: string,
    user: { password: string; tags: string[] } | UserSettings,
    signal?: AbortSignal,
  ): Promise<void> {
    const settings: UserSettings =
      'password' in user
        ? {
            password_hash: hashPassword(user.password, defaultHashingAlgorithm),
            hashing_algorithm: defaultHashingAlgorithm,
            tags: user.tags,
          }
        : user;
    await this.apply({ op: 'putUser', name, settings }, signal);
  }

  deleteUser(name: string, signal?: AbortSignal): Promise<boolean> {
    return this.apply({ op: 'deleteUser', name }, signal);
  }

  async getUserLimits(user: string): Promise<Record<string, number>> {
    const list = await this.#json<{ user: string; value: Record<string, number> }[]>(
      apiPath('user-limits', user),
    );
    return list[0]?.value ?? {};
  }

  async putUserLimit(user: string, limit: string, value: number, signal?: AbortSignal): Promise<void> {
    await this.apply({ op: 'putUserLimit', user, limit, value }, signal);
  }

  deleteUserLimit(user: string, limit: string, signal?: AbortSignal): Promise<boolean> {
    return this.apply({ op: 'deleteUserLimit', user, limit }, signal);
  }

  // ---- permissions -----------------------------------------------------------------------

  listPermissions(): Promise<Permission[]> {
    return this.#json('/api/permissions');
  }

  listTopicPermissions(): Promise<TopicPermission[]> {
    return this.#json('/api/topic-permissions');
  }

  getPermission(vhost: string, user: string, signal?: AbortSignal): Promise<Permission | undefined> {
    return this.#find(apiPath('permissions', vhost, user), signal);
  }

  async putPermission(
    vhost: string,
    user: string,
    settings: PermissionSettings,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.apply({ op: 'putPermission', vhost, user, settings }, signal);
  }

  deletePermission(vhost: string, user: string, signal?: AbortSignal): Promise<boolean> {
    return this.apply({ op: 'deletePermission', vhost, user }, signal);
  }

  /** The user's topic permissions in a vhost, one per exchange. */
  async getTopicPermissions(vhost: string, user: string, signal?: AbortSignal): Promise<TopicPermission[]> {
    return (await this.#find<TopicPermission[]>(apiPath('topic-permissions', vhost, user), signal)) ?? [];
  }

  async putTopicPermission(
    vhost: string,
    user: string,
    settings: TopicPermissionSettings,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.apply({ op: 'putTopicPermission', vhost, user, settings }, signal);
  }

  /** Deletes the topic permission for one exchange, or all of the user's in the vhost. */
  deleteTopicPermission(
    vhost: string,
    user: string,
    exchange?: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    return this.apply(
      { op: 'deleteTopicPermission', vhost, user, ...(exchange === undefined ? {} : { exchange }) },
      signal,
    );
  }

  // ---- exchanges -------------------------------------------------------------------------

  getExchange(vhost: string, name: string, signal?: AbortSignal): Promise<Exchange | undefined> {
    return this.#find(apiPath('exchanges', vhost, name), signal);
  }

  async putExchange(
    vhost: string,
    name: string,
    settings: ExchangeSettings,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.apply({ op: 'putExchange', vhost, name, settings }, signal);
  }

  deleteExchange(
    vhost: string,
    name: string,
    options: { ifUnused?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<boolean> {
    return this.apply(
      { op: 'deleteExchange', vhost, name, ...(options.ifUnused === true ? { ifUnused: true } : {}) },
      signal,
    );
  }

  // ---- queues ----------------------------------------------------------------------------

  /** One queue with its message and consumer counts (the snapshot has neither). */
  getQueue(vhost: string, name: string, signal?: AbortSignal): Promise<QueueDetails | undefined> {
    return this.#find(
      `${apiPath('queues', vhost, name)}?columns=name,vhost,durable,auto_delete,arguments,type,messages,consumers,state,node`,
      signal,
    );
  }

  /** The queues of a vhost with their message counts; undefined when the vhost is gone. */
  listQueues(vhost: string, signal?: AbortSignal): Promise<QueueDetails[] | undefined> {
    return this.#find(`${apiPath('queues', vhost)}?columns=name,vhost,type,messages,arguments`, signal);
  }

  async putQueue(vhost: string, name: string, settings: QueueSettings, signal?: AbortSignal): Promise<void> {
    await this.apply({ op: 'putQueue', vhost, name, settings }, signal);
  }

  /** Deletes a queue, as far as the flags allow (see `apply`'s deleteQueue). */
  deleteQueue(
    vhost: string,
    name: string,
    options: { ifEmpty?: boolean; ifUnused?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<boolean> {
    const ifEmpty = options.ifEmpty === true;
    const ifUnused = options.ifUnused === true;
    return this.apply({ op: 'deleteQueue', vhost, name, ifEmpty, ifUnused }, signal);
  }

  // ---- bindings --------------------------------------------------------------------------

  listBindings(
    vhost: string,
    source: string,
    destinationType: DestinationType,
    destination: string,
    signal?: AbortSignal,
  ): Promise<ListedBinding[]> {
    return this.#json(bindingsPath(vhost, source, destinationType, destination), { signal });
  }

  /** Creates a binding; returns its properties key (from the Location header). */
  async createBinding(binding: Binding, signal?: AbortSignal): Promise<string | undefined> {
    const { response } = await this.#apply({ op: 'createBinding', binding }, signal);
    const location = response?.headers.location;
    const value = Array.isArray(location) ? location[0] : location;
    if (value === undefined) return undefined;
    return decodeURIComponent(value.slice(value.lastIndexOf('/') + 1));
  }

  /** Deletes exactly this binding (same routing key and arguments); false when it was already gone. */
  deleteBinding(binding: Binding, signal?: AbortSignal): Promise<boolean> {
    return this.apply({ op: 'deleteBinding', binding }, signal);
  }

  // ---- policies --------------------------------------------------------------------------

  getPolicy(vhost: string, name: string, signal?: AbortSignal): Promise<Policy | undefined> {
    return this.#find(apiPath('policies', vhost, name), signal);
  }

  // ---- runtime parameters (shovels, federation upstreams) ---------------------------------

  getParameter(
    component: string,
    vhost: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<Parameter | undefined> {
    return this.#find(apiPath('parameters', component, vhost, name), signal);
  }

  async putPolicy(
    vhost: string,
    name: string,
    settings: PolicySettings,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.apply({ op: 'putPolicy', vhost, name, settings }, signal);
  }

  deletePolicy(vhost: string, name: string, signal?: AbortSignal): Promise<boolean> {
    return this.apply({ op: 'deletePolicy', vhost, name }, signal);
  }

  // ---- operator policies -----------------------------------------------------------------

  listOperatorPolicies(): Promise<Policy[]> {
    return this.#json('/api/operator-policies');
  }

  getOperatorPolicy(vhost: string, name: string, signal?: AbortSignal): Promise<Policy | undefined> {
    return this.#find(apiPath('operator-policies', vhost, name), signal);
  }
}
