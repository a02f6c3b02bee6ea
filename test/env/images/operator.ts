// The operator's image, built from what the repository's Dockerfile says, without Docker: its build stages run
// their COPY and npm steps in directories here, and its final stage becomes three layers on the shared Debian
// base (the Dockerfile's node:<version>-trixie-slim stands for Debian trixie plus Node at that version):
//
//   1. the Debian trixie base (base.ts)
//   2. Node: /usr/local/bin/node from the npm registry's node-linux-<arch> package at the version the lockfile
//      pins for the `node` package (whose install script fetches exactly that package), and the node user
//      (1000:1000) that the official Node images have
//   3. the final stage's COPY steps (node_modules, dist, package.json below /app), owned by root
//
// The runtime config is the final stage's ENV, WORKDIR, USER, EXPOSE, LABEL, ENTRYPOINT and CMD over the Node
// image's own environment.
import {
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { TestEnvError } from '../process.ts';
import { debian, ensureBaseRootfs } from './base.ts';
import { cachedImage, shortHash, type BuiltImage } from './built-image.ts';
import { cacheRoot, fileInputs } from './cache.ts';
import {
  dockerignore,
  DockerfileError,
  parseDockerfile,
  planDockerfile,
  type CopyStep,
  type DockerfilePlan,
} from './dockerfile.ts';
import { extractTar, requireRoot, run, tarDirectory, type Log } from './host.ts';
import type { ImageConfig, LayerInput } from './oci.ts';

export const repoRoot = join(import.meta.dirname, '..', '..', '..');

/** The environment of the official Node images that the Dockerfile's final stage starts from. */
export function nodeImageEnv(nodeVersion: string): [string, string][] {
  return [
    ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    ['NODE_VERSION', nodeVersion],
  ];
}

export interface OperatorPlan extends DockerfilePlan {
  nodeVersion: string;
  packageVersion: string;
  /** Context files that the COPY steps take (after .dockerignore), relative to the repository. */
  contextFiles: string[];
  dockerfileText: string;
  dockerignoreText: string;
}

/** Reads the Dockerfile, .dockerignore, package.json and the lockfile; throws when they do not fit together. */
export function operatorPlan(root: string = repoRoot): OperatorPlan {
  const dockerfileText = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const dockerignoreText = existsSync(join(root, '.dockerignore'))
    ? readFileSync(join(root, '.dockerignore'), 'utf8')
    : '';
  let plan: DockerfilePlan;
  try {
    plan = planDockerfile(parseDockerfile(dockerfileText));
  } catch (err) {
    if (err instanceof DockerfileError) throw new TestEnvError(`Dockerfile: ${err.message}.`);
    throw err;
  }
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { version?: string }>;
  };
  const nodeVersion = lock.packages?.['node_modules/node']?.version;
  if (!nodeVersion) throw new TestEnvError('package-lock.json pins no version of the node package.');
  const packageVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
    .version;

  // Every stage must stand for the same Node on the same Debian that the local build uses.
  for (const from of new Set([...plan.buildStages.map((stage) => stage.from), plan.final.from])) {
    const match = /^node:(\d+\.\d+\.\d+)-([a-z]+)-slim$/.exec(from);
    if (!match || match[1] !== nodeVersion || match[2] !== debian.suite) {
      throw new TestEnvError(
        `the Dockerfile builds FROM ${from}, but the local build makes node:${nodeVersion}-${debian.suite}-slim ` +
          '(the lockfile’s node package on the Debian base); make them agree.',
      );
    }
  }

  const ignored = dockerignore(dockerignoreText);
  const copies = [
    ...plan.buildStages.flatMap((stage) =>
      stage.steps.flatMap((step) => (step.kind === 'copy' ? [step.copy] : [])),
    ),
    ...plan.final.copies,
  ];
  const contextFiles = new Set<string>();
  for (const copy of copies.filter((c) => c.from === undefined)) {
    for (const source of copy.sources) {
      const files = contextFilesBelow(root, posix.normalize(source).replace(/\/$/, ''), ignored);
      if (files.length === 0)
        throw new TestEnvError(`the Dockerfile copies ${source}, which the build context does not hold.`);
      for (const file of files) contextFiles.add(file);
    }
  }
  return {
    ...plan,
    nodeVersion,
    packageVersion,
    contextFiles: [...contextFiles].sort(),
    dockerfileText,
    dockerignoreText,
  };
}

function contextFilesBelow(root: string, path: string, ignored: (path: string) => boolean): string[] {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return ignored(path) ? [] : [path];
  return readdirSync(full).flatMap((name) => contextFilesBelow(root, `${path}/${name}`, ignored));
}

export function operatorConfig(
  plan: OperatorPlan,
  facts: { hash: string; debianVersion: string; releaseDate: string },
): ImageConfig {
  // Later ENV of the same name replaces the earlier, in its place.
  const env = new Map<string, string>([...nodeImageEnv(plan.nodeVersion), ...plan.final.env]);
  return {
    ...(plan.final.user === undefined ? {} : { User: plan.final.user }),
    Env: [...env].map(([key, value]) => `${key}=${value}`),
    ...(plan.final.entrypoint ? { Entrypoint: plan.final.entrypoint } : {}),
    // Without an ENTRYPOINT of its own, the final stage keeps the Node image's CMD.
    ...(plan.final.cmd ? { Cmd: plan.final.cmd } : plan.final.entrypoint ? {} : { Cmd: ['node'] }),
    WorkingDir: plan.final.workingDir,
    ExposedPorts: Object.fromEntries(plan.final.exposedPorts.map((port) => [port, {}])),
    Labels: {
      'org.opencontainers.image.title': 'warren',
      'org.opencontainers.image.version': plan.packageVersion,
      'org.opencontainers.image.base.name': plan.final.from,
      'dev.warren.node.version': plan.nodeVersion,
      'dev.warren.debian.version': facts.debianVersion,
      'dev.warren.debian.release-date': facts.releaseDate,
      'dev.warren.inputs.sha256': facts.hash,
      ...plan.final.labels,
    },
  };
}

export function operatorImageName(packageVersion: string, hash: string): string {
  return `localhost/warren/operator:${packageVersion}-${shortHash(hash)}`;
}

export async function ensureOperatorImage(log: Log): Promise<BuiltImage> {
  const started = Date.now();
  requireRoot('the operator image');
  const plan = operatorPlan();
  const base = await ensureBaseRootfs(log);
  return cachedImage(
    {
      kind: 'operator',
      inputs: [
        { name: 'base', value: base.hash },
        { name: 'node', value: plan.nodeVersion },
        { name: 'Dockerfile', value: plan.dockerfileText },
        { name: '.dockerignore', value: plan.dockerignoreText },
        ...fileInputs(repoRoot, plan.contextFiles),
        { name: 'recipe', value: readFileSync(import.meta.filename) },
        { name: 'dockerfile.ts', value: readFileSync(join(import.meta.dirname, 'dockerfile.ts')) },
      ],
      name: (hash) => operatorImageName(plan.packageVersion, hash),
      build: async (work, _name, hash) => {
        if (process.version !== `v${plan.nodeVersion}`) {
          // The build stages run on this Node, and the image must run what they were built with.
          throw new TestEnvError(
            `Building the operator image needs Node ${plan.nodeVersion} (the lockfile's), but this is Node ${process.version}.`,
          );
        }
        const stageDirs = new Map<string, string>();
        for (const stage of plan.buildStages) {
          const dir = join(work, 'stages', stage.name);
          await runBuildStage(plan, stage.name, dir, log);
          stageDirs.set(stage.name, dir);
        }

        const appLayer = join(work, 'app-layer');
        mkdirSync(join(appLayer, plan.final.workingDir), { recursive: true });
        for (const copy of plan.final.copies) {
          copyStep(copy, appLayer, copy.from === undefined ? contextSource(plan) : stageDirs.get(copy.from)!);
        }

        return {
          layers: await nodeAppLayers({
            work,
            baseTar: base.tar,
            nodeVersion: plan.nodeVersion,
            appLayer,
            appCreatedBy: plan.final.copies
              .map(
                (copy) =>
                  `COPY ${copy.from ? `--from=${copy.from} ` : ''}${copy.sources.join(' ')} ${copy.destination}`,
              )
              .join('; '),
            log,
          }),
          config: operatorConfig(plan, {
            hash,
            debianVersion: base.debianVersion,
            releaseDate: base.releaseDate,
          }),
        };
      },
    },
    log,
    started,
  );
}

/** Where the build context's files are copied from: the repository, filtered by .dockerignore. */
function contextSource(plan: OperatorPlan): { root: string; files: readonly string[] } {
  return { root: repoRoot, files: plan.contextFiles };
}

/**
 * Copies one COPY step into root (a directory standing for /). From a stage directory the source is taken
 * whole; from the context only the files that .dockerignore lets through.
 */
function copyStep(
  copy: CopyStep,
  root: string,
  source: string | { root: string; files: readonly string[] },
): void {
  const intoDirectory = copy.destination.endsWith('/');
  for (const item of copy.sources) {
    const normalized = posix.normalize(item).replace(/\/$/, '');
    const from = typeof source === 'string' ? join(source, normalized) : join(source.root, normalized);
    if (!existsSync(from))
      throw new TestEnvError(`COPY ${item} ${copy.destination}: ${from} does not exist.`);
    const isDirectory = statSync(from).isDirectory();
    // A directory's contents go to the destination; a file goes into it, or becomes it.
    const to = join(
      root,
      isDirectory || !intoDirectory
        ? copy.destination
        : posix.join(copy.destination, posix.basename(normalized)),
    );
    if (typeof source === 'string') {
      cpSync(from, to, { recursive: true, verbatimSymlinks: true });
      continue;
    }
    const files = source.files.filter((file) => file === normalized || file.startsWith(`${normalized}/`));
    for (const file of files) {
      const target = isDirectory ? join(to, relative(normalized, file)) : to;
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(source.root, file), target);
    }
  }
}

async function runBuildStage(plan: OperatorPlan, name: string, dir: string, log: Log): Promise<void> {
  const stage = plan.buildStages.find((s) => s.name === name)!;
  let cwd = dir;
  mkdirSync(dir, { recursive: true });
  const env = {
    ...process.env,
    // npm runs on this Node, the one the image gets.
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    npm_config_update_notifier: 'false',
    ...Object.fromEntries(stage.env),
  };
  for (const step of stage.steps) {
    if (step.kind === 'workdir') {
      cwd = join(dir, step.path);
      mkdirSync(cwd, { recursive: true });
    } else if (step.kind === 'copy') {
      copyStep({ ...step.copy, destination: step.copy.destination }, dir, contextSource(plan));
    } else {
      // Only npm steps run here, on this host's Node: anything else would need the base image's tools.
      if (!/^npm\s/.test(step.command)) {
        throw new TestEnvError(
          `the local image builder runs only npm commands, but stage ${name} runs \`${step.command}\` (Dockerfile line ${step.line}).`,
        );
      }
      log(`[${name}] ${step.command}`);
      await run('sh', ['-c', step.command], { what: `\`${step.command}\` in stage ${name}`, cwd, env });
    }
  }
}

/**
 * The layers of a Node application image: the Debian base, Node with its user, and the application directory.
 * The Node layer has fixed times, so every image of the same Node shares its digest and containerd stores it once.
 */
export async function nodeAppLayers(options: {
  work: string;
  baseTar: string;
  nodeVersion: string;
  appLayer: string;
  appCreatedBy: string;
  log: Log;
}): Promise<LayerInput[]> {
  const { work, baseTar, nodeVersion, appLayer, log } = options;
  const nodeLayer = join(work, 'node-layer');
  await layNode(nodeLayer, nodeVersion, baseTar, work, log);
  const layers = { node: join(work, 'node.tar'), app: join(work, 'app.tar') };
  await tarDirectory(nodeLayer, layers.node, { mtime: 0 });
  await tarDirectory(appLayer, layers.app, { rootOwned: true });
  return [
    { path: baseTar, createdBy: `debootstrap --variant=${debian.variant} ${debian.suite}` },
    {
      path: layers.node,
      createdBy: `node-linux ${nodeVersion} at /usr/local/bin/node; user node (1000:1000)`,
    },
    { path: layers.app, createdBy: options.appCreatedBy },
  ];
}

/** /usr/local/bin/node from the npm registry, and the node user of the official Node images. */
async function layNode(
  layer: string,
  version: string,
  baseTar: string,
  work: string,
  log: Log,
): Promise<void> {
  const pkg = `node-linux-${process.arch}`;
  const cache = join(cacheRoot(), 'node');
  const tarball = join(cache, `${pkg}-${version}.tgz`);
  if (!existsSync(tarball)) {
    mkdirSync(cache, { recursive: true });
    log(`npm pack ${pkg}@${version}`);
    await run('npm', ['pack', `${pkg}@${version}`, '--pack-destination', cache, '--silent'], {
      what: `fetching ${pkg}@${version} from the npm registry`,
      cwd: cache,
    });
  }
  const unpacked = join(work, 'node-package');
  await run(
    'tar',
    ['--extract', '--gzip', `--file=${tarball}`, `--directory=${mkdirp(unpacked)}`, 'package/bin/node'],
    {
      what: `extracting node from ${tarball}`,
    },
  );
  const bin = join(mkdirp(join(layer, 'usr/local/bin')), 'node');
  cpSync(join(unpacked, 'package/bin/node'), bin);
  const reported = (await run(bin, ['--version'], { what: `running ${bin}` })).trim();
  if (reported !== `v${version}`) throw new TestEnvError(`${pkg}@${version} holds Node ${reported}.`);

  // The base's account files with the node user added, as the official Node images make it.
  const etc = join(work, 'base-etc');
  await extractTar(baseTar, etc, ['./etc/passwd', './etc/group']);
  mkdirp(join(layer, 'etc'));
  for (const [file, line] of [
    ['passwd', 'node:x:1000:1000::/home/node:/bin/sh'],
    ['group', 'node:x:1000:'],
  ] as const) {
    const content = readFileSync(join(etc, 'etc', file), 'utf8');
    writeFileSync(join(layer, 'etc', file), content);
    if (!/^node:/m.test(content)) appendFileSync(join(layer, 'etc', file), `${line}\n`);
  }
  const home = mkdirp(join(layer, 'home/node'));
  chownSync(home, 1000, 1000);
}

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
