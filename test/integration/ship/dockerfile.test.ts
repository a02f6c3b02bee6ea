// What can be checked about the image without a Docker engine: the Dockerfile's shape, the build context, and
// that the command it runs exists after the build it performs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, matchesGlob } from 'node:path';

const root = join(import.meta.dirname, '../../..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages = instructions
  .map((line, index) => ({ line, index }))
  .filter(({ line }) => line.startsWith('FROM '));
const finalStage = instructions.slice(stages.at(-1)!.index);
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

function argDefault(name: string): string | undefined {
  return new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile)?.[1];
}

/** Whether Docker sends a path of the repository in the build context (.dockerignore: last match wins). */
function inContext(path: string): boolean {
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  let included = true;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = negated ? pattern.slice(1) : pattern;
    if (glob === '**' || matchesGlob(path, glob)) included = negated;
  }
  return included;
}

describe('Dockerfile', () => {
  it('builds in several stages from one Node 24 image pinned to the Node version the tests run on', () => {
    assert.ok(stages.length >= 2, 'a multi-stage build');
    const image = argDefault('NODE_IMAGE');
    assert.ok(image, 'ARG NODE_IMAGE=<image> names the base image');
    assert.match(image, /^node:24\.\d+\.\d+-[a-z]+-slim$/, 'an exact Node 24 version, not a floating tag');
    assert.equal(image.split(':')[1]!.split('-')[0], process.versions.node);
    for (const { line } of stages) assert.match(line, /^FROM \$\{NODE_IMAGE\}( AS \w+)?$/);
  });

  it('installs dependencies from the lockfile with npm ci and builds dist/ with npm run build', () => {
    const runs = instructions.filter((line) => line.startsWith('RUN '));
    assert.ok(runs.some((line) => line.includes('npm ci')));
    assert.ok(!runs.some((line) => / npm (install|i) /.test(`${line} `)), 'never npm install');
    assert.ok(runs.includes('RUN npm run build'));
    assert.ok(instructions.some((line) => line.startsWith('COPY package.json package-lock.json')));
  });

  it('ships compiled output and production dependencies only, run by a numeric non-root user', () => {
    const copies = finalStage.filter((line) => line.startsWith('COPY '));
    assert.ok(copies.some((line) => /--from=\w+ \/app\/dist/.test(line)));
    assert.ok(!copies.some((line) => /\bsrc\b/.test(line)), 'no TypeScript sources in the runtime image');
    assert.ok(finalStage.some((line) => line.includes('--omit=dev')) || dockerfile.includes('--omit=dev'));
    const user = finalStage.filter((line) => line.startsWith('USER ')).at(-1);
    assert.ok(user, 'the runtime stage sets USER');
    const uid = Number(user.slice('USER '.length).split(':')[0]);
    assert.ok(Number.isInteger(uid) && uid > 0, `USER must be a numeric non-root uid, got ${user}`);
  });

  it('runs the command of npm start in exec form, with no shell', () => {
    const entrypoint = finalStage.find((line) => line.startsWith('ENTRYPOINT ') || line.startsWith('CMD '));
    assert.ok(entrypoint);
    const command = JSON.parse(entrypoint.replace(/^(ENTRYPOINT|CMD) /, '')) as string[];
    assert.deepEqual(command, packageJson.scripts.start!.split(' '));
  });

  it('has an entrypoint that exists in dist/ after npm run build', () => {
    const outDir = mkdtempSync(join(tmpdir(), 'warren-dist-'));
    try {
      const tsc = join(root, 'node_modules/typescript/bin/tsc');
      execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
        cwd: root,
        stdio: 'pipe',
      });
      const entry = packageJson.scripts
        .start!.split(' ')
        .at(-1)!
        .replace(/^dist\//, '');
      assert.ok(existsSync(join(outDir, entry)), `${entry} is emitted`);
      assert.ok(!existsSync(join(outDir, 'main.test.js')), 'tests are not compiled into the image');
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});

describe('.dockerignore', () => {
  it('sends sources and manifests of the build, and keeps tests, caches, secrets and node_modules out', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src/main.ts',
    ]) {
      assert.ok(inContext(path), `${path} is in the build context`);
    }
    for (const path of [
      'node_modules/zod/package.json',
      'dist/main.js',
      '.testenv/env',
      '.git/HEAD',
      'test/integration/ship/dockerfile.test.ts',
      'src/runtime/workqueue.test.ts',
      'coverage/lcov.info',
      '.env',
      'charts/warren/values.yaml',
    ]) {
      assert.ok(!inContext(path), `${path} stays out of the build context`);
    }
  });
});
