import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  imageNameAnnotation,
  listTar,
  mediaTypes,
  refNameAnnotation,
  splitReference,
  verifyOciArchive,
  writeOciArchive,
} from './oci.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('An OCI archive', () => {
  let dir: string;
  let archive: string;
  let unpacked: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warren-oci-'));
    // Two real layer tars, as GNU tar makes them, with file sizes that do not end on a block boundary.
    for (const [layer, file, content] of [
      ['one', 'hello', 'hello\n'],
      ['two', 'etc/motd', 'x'.repeat(1000)],
    ] as const) {
      mkdirSync(join(dir, layer, file, '..'), { recursive: true });
      writeFileSync(join(dir, layer, file), content);
      execFileSync('tar', [
        '--create',
        '--file',
        join(dir, `${layer}.tar`),
        '--directory',
        join(dir, layer),
        '.',
      ]);
    }
    archive = join(dir, 'image.tar');
    await writeOciArchive({
      archive,
      name: 'localhost/warren/test:1.0-abc',
      config: { User: '1000:1000', Entrypoint: ['/hello'], ExposedPorts: { '8080/tcp': {} } },
      layers: [
        { path: join(dir, 'one.tar'), createdBy: 'first' },
        { path: join(dir, 'two.tar'), createdBy: 'second' },
      ],
    });
    unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['--extract', '--file', archive, '--directory', unpacked]);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const json = (path: string) =>
    JSON.parse(readFileSync(join(unpacked, path), 'utf8')) as Record<string, unknown>;

  it('is a tar that GNU tar reads, holding oci-layout, index.json and the blobs', () => {
    assert.deepEqual(json('oci-layout'), { imageLayoutVersion: '1.0.0' });
    assert.equal(readdirSync(join(unpacked, 'blobs', 'sha256')).length, 4);
  });

  it('names every blob by the sha256 of its content', () => {
    for (const name of readdirSync(join(unpacked, 'blobs', 'sha256'))) {
      assert.equal(sha256(readFileSync(join(unpacked, 'blobs', 'sha256', name))), name);
    }
  });

  it('carries the image name and its tag on the manifest descriptor of the index', () => {
    const index = json('index.json') as {
      mediaType: string;
      manifests: { annotations: Record<string, string>; platform: unknown }[];
    };
    assert.equal(index.mediaType, mediaTypes.index);
    assert.equal(index.manifests.length, 1);
    assert.deepEqual(index.manifests[0]!.annotations, {
      [imageNameAnnotation]: 'localhost/warren/test:1.0-abc',
      [refNameAnnotation]: '1.0-abc',
    });
    assert.equal((index.manifests[0]!.platform as { os: string }).os, 'linux');
  });

  it('describes each layer by the digest and size of its uncompressed tar, in order', () => {
    const index = json('index.json') as { manifests: { digest: string; size: number }[] };
    const manifestName = `blobs/sha256/${index.manifests[0]!.digest.slice('sha256:'.length)}`;
    assert.equal(readFileSync(join(unpacked, manifestName)).length, index.manifests[0]!.size);
    const manifest = json(manifestName) as { layers: { mediaType: string; digest: string; size: number }[] };
    const expected = ['one', 'two'].map((layer) => {
      const bytes = readFileSync(join(dir, `${layer}.tar`));
      return { mediaType: mediaTypes.layer, digest: `sha256:${sha256(bytes)}`, size: bytes.length };
    });
    assert.deepEqual(manifest.layers, expected);
  });

  it('keeps the runtime config and lists the layers as diff IDs with one history entry each', async () => {
    const verified = await verifyOciArchive(archive);
    assert.equal(verified.name, 'localhost/warren/test:1.0-abc');
    assert.deepEqual(verified.config.config, {
      User: '1000:1000',
      Entrypoint: ['/hello'],
      ExposedPorts: { '8080/tcp': {} },
    });
    assert.deepEqual(
      verified.config.rootfs?.diff_ids,
      verified.layers.map((layer) => layer.digest),
    );
  });

  it('fails verification when a blob was altered', async () => {
    const broken = join(dir, 'broken.tar');
    writeFileSync(broken, readFileSync(archive));
    const layer = (await listTar(broken)).find(
      (entry) => entry.name.startsWith('blobs/sha256/') && entry.size > 2000,
    )!;
    const fd = openSync(broken, 'r+');
    writeSync(fd, Buffer.from('!'), 0, 1, layer.offset + 600);
    closeSync(fd);
    await assert.rejects(verifyOciArchive(broken), /has digest sha256:/);
  });
});

describe('An image reference', () => {
  it('splits at the tag, not at a registry port', () => {
    assert.deepEqual(splitReference('localhost:5000/warren/rabbitmq:4.0.5-abc'), {
      repository: 'localhost:5000/warren/rabbitmq',
      tag: '4.0.5-abc',
    });
    assert.throws(() => splitReference('localhost:5000/warren/rabbitmq'), /has no tag/);
  });
});
