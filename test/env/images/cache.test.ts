import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cachedEntry, cacheRoot, fileInputs, inputHash, withLock } from './cache.ts';

describe('The image cache directory', () => {
  it('is WARREN_IMAGES_CACHE when set', () => {
    assert.equal(cacheRoot({ WARREN_IMAGES_CACHE: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c');
  });

  it('is warren-images under XDG_CACHE_HOME, else under ~/.cache', () => {
    assert.equal(cacheRoot({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/warren-images');
    assert.equal(cacheRoot({ HOME: '/h' }), '/h/.cache/warren-images');
  });
});

describe('An input hash', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'warren-hash-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'a.ts'), 'a');
    writeFileSync(join(dir, 'src', 'b.ts'), 'b');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is the same for the same inputs, whatever order the files were listed in', () => {
    const one = inputHash(fileInputs(dir, ['src/a.ts', 'src/b.ts']));
    const two = inputHash(fileInputs(dir, ['src/b.ts', 'src/a.ts']));
    assert.equal(one, two);
    assert.match(one, /^[0-9a-f]{64}$/);
  });

  it('changes when a file changes', () => {
    const before = inputHash(fileInputs(dir, ['src/a.ts']));
    writeFileSync(join(dir, 'src', 'a.ts'), 'a2');
    assert.notEqual(inputHash(fileInputs(dir, ['src/a.ts'])), before);
  });

  it('tells inputs apart even when their bytes run together the same', () => {
    assert.notEqual(
      inputHash([
        { name: 'x', value: 'ab' },
        { name: 'y', value: 'c' },
      ]),
      inputHash([
        { name: 'x', value: 'a' },
        { name: 'y', value: 'bc' },
      ]),
    );
  });
});

describe('A cache lock', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'warren-lock-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('lets one holder in at a time and is released afterwards', async () => {
    const events: string[] = [];
    const hold = (name: string) =>
      withLock(
        'kind',
        'test',
        async () => {
          events.push(`${name} in`);
          await sleep(100);
          events.push(`${name} out`);
        },
        { root },
      );
    await Promise.all([hold('a'), hold('b')]);
    assert.deepEqual(events, ['a in', 'a out', 'b in', 'b out']);
    assert.deepEqual(readdirSync(join(root, 'locks')), []);
  });

  it('is taken over when the process that held it is gone', async () => {
    const child = spawn('true');
    await new Promise((resolve) => child.on('exit', resolve));
    mkdirSync(join(root, 'locks'), { recursive: true });
    writeFileSync(join(root, 'locks', 'stale.lock'), JSON.stringify({ pid: child.pid, startTime: '1' }));
    assert.equal(await withLock('stale', 'test', () => Promise.resolve('taken'), { root }), 'taken');
  });
});

describe('A cache entry', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'warren-entry-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const hash = (n: number) => createHash('sha256').update(String(n)).digest('hex');

  it('is built once and then returned from the cache with its metadata', async () => {
    let builds = 0;
    const build = (dir: string) => {
      builds++;
      writeFileSync(join(dir, 'out'), 'x');
      return Promise.resolve({ size: 1 });
    };
    const first = await cachedEntry('thing', hash(1), build, { root });
    const second = await cachedEntry('thing', hash(1), build, { root });
    assert.equal(builds, 1);
    assert.deepEqual([first.built, second.built], [true, false]);
    assert.deepEqual(second.metadata, { size: 1 });
    assert.equal(second.dir, first.dir);
  });

  it('is built anew when the caller finds it unusable (its archive removed, say)', async () => {
    const first = await cachedEntry('thing', hash(2), () => Promise.resolve({}), { root });
    const again = await cachedEntry('thing', hash(2), () => Promise.resolve({}), {
      root,
      usable: () => false,
    });
    assert.equal(first.built, true);
    assert.equal(again.built, true);
  });

  it('leaves nothing behind when its build fails', async () => {
    await assert.rejects(
      cachedEntry('thing', hash(3), () => Promise.reject(new Error('no mirror')), { root }),
      /no mirror/,
    );
    assert.equal(existsSync(join(root, 'thing', hash(3).slice(0, 32))), false);
  });

  it('removes what an interrupted build left when it builds another entry of the kind', async () => {
    const interrupted = join(root, 'thing', hash(4).slice(0, 32));
    mkdirSync(join(interrupted, 'rootfs'), { recursive: true });
    await cachedEntry('thing', hash(5), () => Promise.resolve({}), { root });
    assert.equal(existsSync(interrupted), false);
  });

  it('keeps only the most recently used entries of a kind', async () => {
    for (let n = 10; n < 15; n++) {
      await cachedEntry('pruned', hash(n), () => Promise.resolve({}), { root });
      // Apart in time, so that "most recently used" has one answer.
      await sleep(20);
    }
    assert.deepEqual(
      readdirSync(join(root, 'pruned')).sort(),
      [12, 13, 14].map((n) => hash(n).slice(0, 32)).sort(),
    );
  });
});
