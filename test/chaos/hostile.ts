// Hostile input: manifests and connection Secrets that are huge, odd, malformed, or point at endpoints that
// misbehave. Each must be rejected by the API server with a message, or end in Ready=False with a reason and a
// message, while objects of a healthy broker keep converging; and each must be deletable afterwards.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../env/net.ts';
import { evidence } from './evidence.ts';
import {
  apply,
  converge,
  createFleet,
  describeProgress,
  mix,
  readyOf,
  type Fleet,
  type Kind,
  type Manifest,
} from './fleet.ts';
import { OperatorProcess } from './operator.ts';
import { Report } from './report.ts';
import { tearDown, uniqueName, type World } from './scenarios.ts';

/** Settings a cautious platform team would set: short broker deadlines, a 1 MiB answer cap. */
export const hostileSettings = {
  MANAGEMENT_REQUEST_TIMEOUT: '3s',
  MANAGEMENT_EXPORT_TIMEOUT: '6s',
  RECONCILE_TIMEOUT: '15s',
  MANAGEMENT_MAX_RESPONSE_SIZE: '1Mi',
};

export const hostileCredentials = { username: 'hostile-user', password: 'hostile-password-never-shown-3f9c' };

type Behaviour = (response: ServerResponse) => void;

/** One byte every 200 ms, for as long as the client listens. */
const trickle: Behaviour = (response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.write('{');
  const timer = setInterval(() => response.write(' '), 200);
  response.on('close', () => clearInterval(timer));
};

/** 64 KiB chunks as fast as the client reads, up to 256 MiB per answer. */
const endless: Behaviour = (response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let written = 0;
  const pump = () => {
    while (written < 256 * 2 ** 20 && !response.destroyed) {
      written += chunk.length;
      if (!response.write(chunk)) return void response.once('drain', pump);
    }
    response.end();
  };
  pump();
};

const html: Behaviour = (response) => {
  response.writeHead(200, { 'content-type': 'text/html' });
  response.end(
    '<html><body>Welcome to nginx! ' + '<p>not the management API</p>'.repeat(100) + '</body></html>',
  );
};

const failing: Behaviour = (response) => {
  response.writeHead(500, { 'content-type': 'text/plain' });
  response.end('internal error\n');
};

const hangUp: Behaviour = (response) => response.socket?.destroy();

async function serve(behaviour: Behaviour): Promise<{ url: string; server: Server }> {
  const server = createServer((_request, response) => behaviour(response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface Case {
  name: string;
  /** A connection Secret made for this case (its data); the object then refers to it. */
  secret?: Record<string, string>;
  /** The object; its rabbitmqClusterReference is added unless the spec has one. */
  manifest?: Manifest;
  /** The manifest's metadata.name, when it is itself the hostile part. */
  objectName?: string;
}

const huge = (size: number, fill = 'a') => fill.repeat(size);

function cases(
  healthy: { managementUrl: string; username: string; password: string },
  urls: Record<string, string>,
  closedPort: number,
): Case[] {
  const queue = (name: string, extra: Record<string, unknown> = {}): Manifest => ({
    kind: 'Queue',
    name,
    spec: { name, ...extra },
  });
  const slug = (text: string) =>
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60);
  const viaSecret = (name: string, data: Record<string, string>): Case => ({
    name,
    secret: data,
    manifest: queue(slug(name)),
  });
  const creds = hostileCredentials;
  return [
    // Connection Secrets.
    viaSecret('uri that does not parse', { uri: 'http://[::1', ...creds }),
    viaSecret('uri that is not a URL', { uri: 'not a url at all', ...creds }),
    viaSecret('uri of another scheme', { uri: 'ftp://127.0.0.1:21/', ...creds }),
    viaSecret('empty uri', { uri: '', ...creds }),
    viaSecret('uri of 200,000 characters', { uri: `http://${huge(200_000)}.example:15672`, ...creds }),
    viaSecret('uri with control characters', { uri: 'http://127.0.0.1:1/\u0000\r\nX-Injected: 1', ...creds }),
    viaSecret('uri of a closed port', { uri: `http://127.0.0.1:${closedPort}`, ...creds }),
    viaSecret('https uri of a closed port', { uri: `https://127.0.0.1:${closedPort}`, ...creds }),
    viaSecret('https uri of a plain http broker', {
      uri: healthy.managementUrl.replace('http:', 'https:'),
      ...creds,
    }),
    viaSecret('uri carrying a password of its own', {
      uri: `http://intruder:${creds.password}-in-uri@127.0.0.1:${closedPort}`,
      ...creds,
    }),
    viaSecret('uri of a host that does not resolve', { uri: 'http://no-such-host.invalid:15672', ...creds }),
    viaSecret('endpoint that trickles a byte at a time', { uri: urls.trickle!, ...creds }),
    viaSecret('endpoint with an endless body', { uri: urls.endless!, ...creds }),
    viaSecret('endpoint answering HTML', { uri: urls.html!, ...creds }),
    viaSecret('endpoint answering 500', { uri: urls.failing!, ...creds }),
    viaSecret('endpoint hanging up', { uri: urls.hangUp!, ...creds }),
    viaSecret('Secret without uri', { ...creds }),
    viaSecret('Secret without password', { uri: healthy.managementUrl, username: creds.username }),
    viaSecret('wrong password for a real broker', { uri: healthy.managementUrl, ...creds }),
    viaSecret('username of 100,000 characters', {
      uri: healthy.managementUrl,
      username: huge(100_000, 'u'),
      password: creds.password,
    }),
    viaSecret('Secret over the API size limit', { uri: `http://${huge(1_600_000)}`, ...creds }),
    {
      name: 'Secret that does not exist',
      manifest: {
        kind: 'Queue',
        name: 'secret-not-there',
        spec: { name: 'x', rabbitmqClusterReference: { connectionSecret: { name: 'not-there' } } },
      },
    },
    // Manifests, against the healthy broker.
    {
      name: 'queue with 1,000 arguments',
      manifest: queue('thousand-arguments', {
        arguments: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x-custom-${i}`, i])),
      }),
    },
    { name: 'queue name of 256 characters', manifest: queue('long-name', { name: huge(256) }) },
    { name: 'queue name of 1 MiB', manifest: queue('huge-name', { name: huge(2 ** 20) }) },
    { name: 'queue name in the reserved amq. prefix', manifest: queue('reserved', { name: 'amq.hostile' }) },
    {
      name: 'queue type argument the broker does not know',
      manifest: queue('bad-type', { arguments: { 'x-queue-type': 'hostile' } }),
    },
    {
      name: 'queue type argument of 100,000 characters',
      manifest: queue('huge-type', { arguments: { 'x-queue-type': huge(100_000, 'q') } }),
    },
    {
      name: 'x-max-length that is not a number',
      manifest: queue('bad-max-length', { arguments: { 'x-max-length': 'many' } }),
    },
    {
      name: 'non-durable quorum queue',
      manifest: queue('volatile-quorum', { type: 'quorum', durable: false }),
    },
    {
      name: 'exchange type that does not exist',
      manifest: { kind: 'Exchange', name: 'bad-exchange', spec: { name: 'bad-exchange', type: 'x-hostile' } },
    },
    {
      name: 'policy with an invalid pattern',
      manifest: {
        kind: 'Policy',
        name: 'bad-pattern',
        spec: { name: 'bad-pattern', pattern: '([', definition: { 'max-length': 1 } },
      },
    },
    {
      name: 'policy with an unknown definition key',
      manifest: {
        kind: 'Policy',
        name: 'bad-definition',
        spec: { name: 'bad-definition', pattern: '^x$', definition: { 'no-such-key': 1 } },
      },
    },
    {
      name: 'policy with a definition value of the wrong type',
      manifest: {
        kind: 'Policy',
        name: 'bad-value',
        spec: { name: 'bad-value', pattern: '^x$', definition: { 'max-length': 'lots' } },
      },
    },
    {
      name: 'permission with an invalid pattern',
      manifest: {
        kind: 'Permission',
        name: 'bad-permission',
        spec: { user: healthy.username, permissions: { configure: '(', write: '', read: '' } },
      },
    },
    {
      name: 'permission for a User that does not exist',
      manifest: {
        kind: 'Permission',
        name: 'no-user',
        spec: {
          userReference: { name: 'no-such-user' },
          permissions: { configure: '', write: '', read: '' },
        },
      },
    },
    {
      name: 'binding from an exchange that does not exist',
      manifest: {
        kind: 'Binding',
        name: 'no-source',
        spec: { source: 'no-such-exchange', destination: 'no-such-queue', destinationType: 'queue' },
      },
    },
    { name: 'queue in a vhost that does not exist', manifest: queue('no-vhost', { vhost: 'no-such-vhost' }) },
    {
      name: 'vhost name of 256 characters',
      manifest: { kind: 'Vhost', name: 'long-vhost', spec: { name: huge(256, 'v') } },
    },
    {
      name: 'reference to both a cluster and a connection Secret',
      manifest: queue('two-references', {
        rabbitmqClusterReference: { name: 'rabbit', connectionSecret: { name: 'healthy' } },
      }),
    },
    {
      name: 'reference to a cluster that does not exist',
      manifest: queue('no-cluster', { rabbitmqClusterReference: { name: 'no-such-cluster' } }),
    },
    { name: 'object name of 300 characters', manifest: queue(huge(300, 'n')) },
    {
      name: 'user tag that does not exist',
      manifest: { kind: 'User', name: 'root-user', spec: { tags: ['root'] } },
    },
  ];
}

interface Outcome {
  name: string;
  /** 'rejected' with the API server's message, 'unready' with reason and message, or what went wrong. */
  verdict: 'rejected' | 'unready' | 'bad';
  detail: string;
  /** The object to delete afterwards. */
  object?: { kind: Kind; name: string };
}

const apiMessage = (err: unknown) => {
  const e = err as { body?: unknown; message?: string };
  try {
    const body =
      typeof e.body === 'string'
        ? (JSON.parse(e.body) as { message?: string })
        : (e.body as { message?: string } | undefined);
    if (body?.message) return body.message;
  } catch {
    // not JSON
  }
  return e.message ?? String(err);
};

/**
 * Why deleting objects whose broker was never reached is a known failure today: the deletion test runs as a TODO
 * that prints this and every stuck object. Drop the TODO once the operator releases such finalizers.
 */
export const knownDeletionDefect =
  'known defect (issue 16, section 6): an object whose connection Secret is invalid or whose broker was never ' +
  'reachable keeps its finalizer, though nothing of it exists on any broker';

/**
 * The scenario in phases, so a test can report each on its own:
 *   const s = await HostileScenario.start(world, { healthyObjects });
 *   await s.input();     every case rejected with a message or Ready=False with a reason; healthy ones converge
 *   await s.deletion();  every hostile object deleted within 90 s (then finalizers left are removed by hand)
 *   await s.close();     the operator stopped, and it must not have crashed
 */
export class HostileScenario {
  readonly #world: World;
  readonly #options: { healthyObjects: number };
  readonly #servers: Record<string, { url: string; server: Server }>;
  readonly #hostile: Fleet;
  readonly #healthy: Fleet;
  readonly #operator: OperatorProcess;
  readonly #outcomes: Outcome[] = [];

  private constructor(
    world: World,
    options: { healthyObjects: number },
    servers: Record<string, { url: string; server: Server }>,
    hostile: Fleet,
    healthy: Fleet,
    operator: OperatorProcess,
  ) {
    this.#world = world;
    this.#options = options;
    this.#servers = servers;
    this.#hostile = hostile;
    this.#healthy = healthy;
    this.#operator = operator;
  }

  static async start(world: World, options: { healthyObjects: number }): Promise<HostileScenario> {
    const servers = {
      trickle: await serve(trickle),
      endless: await serve(endless),
      html: await serve(html),
      failing: await serve(failing),
      hangUp: await serve(hangUp),
    };
    evidence.secret('hostile connection Secret password', hostileCredentials.password);
    evidence.secret(
      'hostile basic auth header',
      Buffer.from(`${hostileCredentials.username}:${hostileCredentials.password}`).toString('base64'),
    );
    // The hostile objects in a namespace and vhost of their own, the healthy ones in another.
    const hostile = await createFleet(world.kube, uniqueName('chaos-hostile'), world.broker);
    const healthy = await createFleet(world.kube, uniqueName('chaos-healthy'), world.broker);
    const operator = await OperatorProcess.start({
      name: 'hostile-operator',
      dir: world.dir,
      kubeconfigPath: world.kubeconfigPath,
      watchNamespaces: [hostile.namespace, healthy.namespace],
      env: hostileSettings,
    });
    return new HostileScenario(world, options, servers, hostile, healthy, operator);
  }

  async input(): Promise<void> {
    const { healthyObjects } = this.#options;
    const r = new Report(`Hostile input while ${healthyObjects} objects of a healthy broker converge`);
    const world = this.#world;
    const fleet = this.#hostile;
    const healthyFleet = this.#healthy;
    const ns = fleet.namespace;
    const outcomes = this.#outcomes;
    const urls = Object.fromEntries(Object.entries(this.#servers).map(([k, v]) => [k, v.url]));
    const [closedPort] = await freePorts(1);
    const table = cases(world.broker, urls, closedPort!);
    r.did(`${table.length} hostile cases`);
    for (const [index, c] of table.entries()) {
      const secretName = `hostile-${index}`;
      if (c.secret) {
        try {
          await world.kube.connectionSecret(ns, secretName, c.secret);
        } catch (err) {
          outcomes.push({ name: c.name, verdict: 'rejected', detail: `Secret rejected: ${apiMessage(err)}` });
          continue;
        }
      }
      const m = c.manifest!;
      const spec = { ...m.spec };
      spec.rabbitmqClusterReference ??= { connectionSecret: { name: c.secret ? secretName : fleet.secret } };
      if (m.kind !== 'Vhost' && m.kind !== 'User') spec.vhost ??= fleet.vhost;
      try {
        await world.kube.create(ns, { ...m, spec });
        outcomes.push({
          name: c.name,
          verdict: 'bad',
          detail: 'no status yet',
          object: { kind: m.kind, name: m.name },
        });
      } catch (err) {
        const message = apiMessage(err);
        outcomes.push({
          name: c.name,
          verdict: message ? 'rejected' : 'bad',
          detail: `rejected by the API server: ${message.slice(0, 300)}`,
        });
      }
    }
    r.did(
      `created them: ${outcomes.filter((o) => o.verdict === 'rejected').length} rejected by the API server`,
    );

    // Meanwhile, the healthy broker's objects.
    const healthyStarted = performance.now();
    await apply(world.kube, healthyFleet, mix(0, healthyObjects, healthyFleet.vhost, healthyFleet.secret));
    const healthy = await converge(world.kube, healthyFleet, 180_000);
    if (healthy.done) {
      r.measured(
        `${healthyObjects} healthy objects converged beside the hostile ones`,
        (performance.now() - healthyStarted) / 1000,
      );
    } else r.problem(`healthy objects did not converge: ${describeProgress(healthy.last)}`);

    // Every object that was admitted must settle on Ready=False with a reason and a message.
    const admitted = outcomes.filter((o) => o.object);
    const settled = async () => {
      const objects = await world.kube.listAll(ns);
      for (const o of admitted) {
        const obj = objects.find((x) => x.kind === o.object!.kind && x.metadata.name === o.object!.name);
        const ready = readyOf(obj);
        if (ready?.status === 'False' && ready.reason && ready.message) {
          o.verdict = 'unready';
          o.detail = `Ready=False ${ready.reason}: ${ready.message.slice(0, 300)}`;
        } else {
          o.verdict = 'bad';
          o.detail = ready
            ? `Ready=${ready.status} ${ready.reason ?? '(no reason)'}: ${(ready.message ?? '(no message)').slice(0, 300)}`
            : 'no Ready condition';
        }
      }
      return admitted.every((o) => o.verdict === 'unready');
    };
    const deadline = performance.now() + 120_000;
    while (!(await settled().catch(() => false)) && performance.now() < deadline) await sleep(1_000);
    // And stay there: a late Ready=True would mean the hostile input was taken as valid after all.
    await sleep(5_000);
    await settled();

    const more = mix(healthyObjects, 10, healthyFleet.vhost, healthyFleet.secret);
    const moreStarted = performance.now();
    await apply(world.kube, healthyFleet, more);
    const late = await converge(world.kube, healthyFleet, 120_000);
    if (late.done) r.measured('10 more healthy objects converged', (performance.now() - moreStarted) / 1000);
    else r.problem(`healthy objects created later did not converge: ${describeProgress(late.last)}`);

    for (const o of outcomes) {
      r.did(`${o.verdict === 'bad' ? 'BAD' : o.verdict.padEnd(8)} ${o.name}: ${o.detail}`);
      if (o.verdict === 'bad') r.problem(`${o.name}: ${o.detail}`);
    }
    const count = (verdict: Outcome['verdict']) => outcomes.filter((o) => o.verdict === verdict).length;
    r.measured('hostile cases rejected by the API server', count('rejected'), { unit: 'cases' });
    r.measured('hostile cases Ready=False with a reason', count('unready'), { unit: 'cases' });
    r.expect(outcomes.length >= 30, `only ${outcomes.length} hostile cases`);
    r.expect(this.#operator.running, 'the operator exited during the hostile input');
    r.finish();
  }

  async deletion(): Promise<void> {
    const r = new Report('Deleting every hostile object');
    const world = this.#world;
    const fleet = this.#hostile;
    await world.kube.collect(fleet.namespace);
    const admitted = this.#outcomes.flatMap((o) => (o.object ? [{ ...o.object, case: o.name }] : []));
    const started = performance.now();
    for (const o of admitted) await world.kube.remove(fleet.namespace, o.kind, o.name);
    r.did(`deleted ${admitted.length} hostile objects`);
    const left = async () => {
      const objects = await world.kube.listAll(fleet.namespace);
      return admitted.filter((o) => objects.some((x) => x.kind === o.kind && x.metadata.name === o.name));
    };
    let stuck = admitted;
    const deadline = performance.now() + 90_000;
    while (performance.now() < deadline) {
      stuck = await left().catch(() => stuck);
      if (stuck.length === 0) break;
      await sleep(1_000);
    }
    if (stuck.length === 0) r.measured('every hostile object deleted', (performance.now() - started) / 1000);
    else {
      r.problem(
        `${stuck.length} of ${admitted.length} hostile objects still Terminating after 90 s: ` +
          stuck.map((o) => `${o.kind}/${o.name} (${o.case})`).join(', '),
      );
      // Cleaning up as the README tells an administrator to: remove the finalizer by hand.
      for (const o of stuck) await world.kube.dropFinalizers(fleet.namespace, o.kind, o.name);
      r.did(`removed the finalizer by hand from ${stuck.length} objects`);
    }
    await tearDown(r, world, fleet);
    await tearDown(r, world, this.#healthy);
    r.finish();
  }

  async close(): Promise<void> {
    await this.#operator.stop();
    for (const { server } of Object.values(this.#servers)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    const crashes = this.#operator.crashes();
    if (crashes.length > 0) throw new Error(`the operator crashed:\n  ${crashes.join('\n  ')}`);
  }
}
