// The AMQP client image of the end-to-end test (test/e2e/amqp-check/), built without Docker from what its
// Dockerfile says: the operator's Node layer on the shared Debian base, then amqplib and check.ts in the
// Dockerfile's WORKDIR. amqplib comes from the repository's node_modules, at the version the lockfile pins
// (which must be the one the Dockerfile installs), so the build needs no registry.
//
//   1. the Debian trixie base (base.ts)
//   2. Node and the node user, as in the operator image (operator.ts: nodeAppLayers)
//   3. <WORKDIR>/check.ts and <WORKDIR>/node_modules/amqplib, owned by root
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { TestEnvError } from '../process.ts';
import { debian, ensureBaseRootfs } from './base.ts';
import { cachedImage, shortHash, type BuiltImage } from './built-image.ts';
import { fileInputs } from './cache.ts';
import { DockerfileError, parseCommand, parseDockerfile } from './dockerfile.ts';
import { requireRoot, type Log } from './host.ts';
import type { ImageConfig } from './oci.ts';
import { nodeAppLayers, nodeImageEnv, repoRoot } from './operator.ts';

export const checkDir = 'test/e2e/amqp-check';

export interface AmqpCheckPlan {
  nodeVersion: string;
  amqplibVersion: string;
  workingDir: string;
  user: string;
  entrypoint: string[];
  /** Files of the build context that COPY takes, relative to checkDir. */
  copies: string[];
  dockerfileText: string;
}

/**
 * Reads the check's Dockerfile and the lockfile; throws when the Dockerfile asks for something this builder
 * does not do (any instruction but WORKDIR, RUN npm install amqplib@<locked>, COPY of files, USER, ENTRYPOINT).
 */
export function amqpCheckPlan(root: string = repoRoot): AmqpCheckPlan {
  const dockerfileText = readFileSync(join(root, checkDir, 'Dockerfile'), 'utf8');
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { version?: string; dependencies?: Record<string, string> }>;
  };
  const nodeVersion = lock.packages?.['node_modules/node']?.version;
  const amqplib = lock.packages?.['node_modules/amqplib'];
  if (!nodeVersion || !amqplib?.version)
    throw new TestEnvError('package-lock.json pins no version of node or amqplib.');
  // Only amqplib itself is copied: a dependency of its own would be missing from the image.
  if (amqplib.dependencies && Object.keys(amqplib.dependencies).length > 0)
    throw new TestEnvError(
      `amqplib ${amqplib.version} has dependencies now; ${checkDir}'s local build copies amqplib alone.`,
    );

  const fail = (message: string): never => {
    throw new TestEnvError(`${checkDir}/Dockerfile: ${message}.`);
  };
  let parsed;
  try {
    parsed = parseDockerfile(dockerfileText);
  } catch (err) {
    if (err instanceof DockerfileError) fail(err.message);
    throw err;
  }
  if (parsed.stages.length !== 1) fail('the local build reads a single stage');
  const stage = parsed.stages[0]!;
  if (stage.from !== `node:${nodeVersion}-${debian.suite}-slim`)
    fail(`builds FROM ${stage.from}, but the local build makes node:${nodeVersion}-${debian.suite}-slim`);

  let workingDir = '/';
  let user: string | undefined;
  let entrypoint: string[] | undefined;
  let installed: string | undefined;
  const copies: string[] = [];
  for (const { keyword, value, line } of stage.instructions) {
    if (keyword === 'WORKDIR') workingDir = posix.resolve(workingDir, value);
    else if (keyword === 'USER') user = value;
    else if (keyword === 'ENTRYPOINT') entrypoint = parseCommand(value);
    else if (keyword === 'RUN') {
      installed = /^npm install .*\bamqplib@(\S+)$/.exec(value)?.[1];
      if (!installed) fail(`the local build runs only \`npm install … amqplib@<version>\` (line ${line})`);
    } else if (keyword === 'COPY') {
      const [source, destination, ...rest] = value.split(/\s+/);
      if (!source || rest.length > 0 || source.startsWith('--') || destination !== './')
        fail(`the local build copies one file into WORKDIR per COPY (line ${line})`);
      copies.push(source!);
    } else fail(`${keyword} is not supported by the local build (line ${line})`);
  }
  if (installed !== amqplib.version)
    fail(`installs amqplib@${installed ?? '?'}, but the lockfile pins ${amqplib.version}; make them agree`);
  if (!user || !entrypoint) fail('needs a USER and an ENTRYPOINT');
  return {
    nodeVersion,
    amqplibVersion: amqplib.version,
    workingDir,
    user: user!,
    entrypoint: entrypoint!,
    copies,
    dockerfileText,
  };
}

export function amqpCheckConfig(plan: AmqpCheckPlan, hash: string): ImageConfig {
  return {
    User: plan.user,
    Env: nodeImageEnv(plan.nodeVersion).map(([key, value]) => `${key}=${value}`),
    Entrypoint: plan.entrypoint,
    WorkingDir: plan.workingDir,
    Labels: {
      'org.opencontainers.image.title': 'warren-amqp-check',
      'org.opencontainers.image.base.name': `node:${plan.nodeVersion}-${debian.suite}-slim`,
      'dev.warren.node.version': plan.nodeVersion,
      'dev.warren.amqplib.version': plan.amqplibVersion,
      'dev.warren.inputs.sha256': hash,
    },
  };
}

export function amqpCheckImageName(amqplibVersion: string, hash: string): string {
  return `localhost/warren/amqp-check:${amqplibVersion}-${shortHash(hash)}`;
}

function filesBelow(root: string, dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(join(root, path)).isDirectory() ? filesBelow(root, path) : [path];
  });
}

export async function ensureAmqpCheckImage(log: Log): Promise<BuiltImage> {
  const started = Date.now();
  requireRoot('the AMQP check image');
  const plan = amqpCheckPlan();
  const amqplibDir = 'node_modules/amqplib';
  if (!existsSync(join(repoRoot, amqplibDir)))
    throw new TestEnvError('node_modules/amqplib is missing: run `npm ci` first.');
  const amqplibFiles = filesBelow(repoRoot, amqplibDir);
  const installedVersion = (
    JSON.parse(readFileSync(join(repoRoot, amqplibDir, 'package.json'), 'utf8')) as { version: string }
  ).version;
  if (installedVersion !== plan.amqplibVersion)
    throw new TestEnvError(
      `node_modules holds amqplib ${installedVersion}, but the lockfile pins ${plan.amqplibVersion}: run \`npm ci\`.`,
    );
  const base = await ensureBaseRootfs(log);
  return cachedImage(
    {
      kind: 'amqp-check',
      inputs: [
        { name: 'base', value: base.hash },
        { name: 'node', value: plan.nodeVersion },
        { name: 'Dockerfile', value: plan.dockerfileText },
        ...fileInputs(join(repoRoot, checkDir), plan.copies),
        ...fileInputs(repoRoot, amqplibFiles),
        { name: 'recipe', value: readFileSync(import.meta.filename) },
        { name: 'operator.ts', value: readFileSync(join(import.meta.dirname, 'operator.ts')) },
      ],
      name: (hash) => amqpCheckImageName(plan.amqplibVersion, hash),
      build: async (work, _name, hash) => {
        const appLayer = join(work, 'app-layer');
        const app = join(appLayer, plan.workingDir);
        mkdirSync(app, { recursive: true });
        for (const file of plan.copies)
          cpSync(join(repoRoot, checkDir, file), join(app, posix.basename(file)));
        for (const file of amqplibFiles) {
          const target = join(app, file);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(join(repoRoot, file), target);
        }
        return {
          layers: await nodeAppLayers({
            work,
            baseTar: base.tar,
            nodeVersion: plan.nodeVersion,
            appLayer,
            appCreatedBy: `amqplib ${plan.amqplibVersion} from node_modules; COPY ${plan.copies.join(' ')} ${plan.workingDir}`,
            log,
          }),
          config: amqpCheckConfig(plan, hash),
        };
      },
    },
    log,
    started,
  );
}
