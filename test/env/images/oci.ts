// OCI image-layout archives that `ctr -n k8s.io images import <archive>` accepts: a tar of oci-layout,
// index.json and blobs/sha256/<digest>, written without Docker.
//
//   describeBlob(path)             sha256 digest and size of a file, read as a stream
//   writeOciArchive(options)       writes config, manifest and index around the given layer tars; returns the
//                                  archive's size and the manifest digest
//   verifyOciArchive(path)         reads an archive back and checks that every blob matches its digest and size,
//                                  that the manifest names the config and layers, and that the index carries the
//                                  image name; throws on the first mismatch
//
// Layers are plain (uncompressed) tars: the archive never crosses a network, so gzip would only cost CPU twice,
// once here and once when containerd unpacks it, for a smaller file on the same disk.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';

export const mediaTypes = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

export const imageNameAnnotation = 'io.containerd.image.name';
export const refNameAnnotation = 'org.opencontainers.image.ref.name';

/** The runtime part of an OCI image config (the fields a container runtime reads). */
export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface LayerInput {
  /** An uncompressed tar of the files this layer adds. */
  path: string;
  /** What made the layer, for the image history. */
  createdBy: string;
}

export interface OciArchiveOptions {
  archive: string;
  /** Full reference with a tag, e.g. localhost/warren/pause:abc. */
  name: string;
  config: ImageConfig;
  layers: readonly LayerInput[];
  created?: Date;
}

export interface WrittenArchive {
  bytes: number;
  manifestDigest: string;
}

/** Splits `registry/repo:tag` at the tag's colon (a registry port's colon comes before the last slash). */
export function splitReference(name: string): { repository: string; tag: string } {
  const colon = name.lastIndexOf(':');
  if (colon <= name.lastIndexOf('/')) throw new Error(`image name ${name} has no tag`);
  return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
}

export function ociArchitecture(arch: string = process.arch): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  const name = names[arch];
  if (!name) throw new Error(`no OCI architecture name for ${arch}`);
  return name;
}

export async function describeBlob(
  path: string,
  range?: { start: number; size: number },
): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const stream = range
    ? createReadStream(path, { start: range.start, end: range.start + range.size - 1 })
    : createReadStream(path);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

function jsonBlob(value: unknown): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

export async function writeOciArchive(options: OciArchiveOptions): Promise<WrittenArchive> {
  const { tag } = splitReference(options.name);
  const created = (options.created ?? new Date()).toISOString();
  const layers: Descriptor[] = [];
  for (const layer of options.layers) {
    layers.push({ mediaType: mediaTypes.layer, ...(await describeBlob(layer.path)) });
  }
  const platform = { architecture: ociArchitecture(), os: 'linux' };
  const config = jsonBlob({
    created,
    ...platform,
    config: options.config,
    // Uncompressed layers: each diff ID is the layer's own digest.
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
    history: options.layers.map((layer) => ({ created, created_by: layer.createdBy })),
  });
  const manifest = jsonBlob({
    schemaVersion: 2,
    mediaType: mediaTypes.manifest,
    config: { mediaType: mediaTypes.config, digest: config.digest, size: config.bytes.length },
    layers,
  });
  const index = {
    schemaVersion: 2,
    mediaType: mediaTypes.index,
    manifests: [
      {
        mediaType: mediaTypes.manifest,
        digest: manifest.digest,
        size: manifest.bytes.length,
        platform,
        annotations: { [imageNameAnnotation]: options.name, [refNameAnnotation]: tag },
      },
    ],
  };

  // Written aside and renamed, so a reader never sees half an archive under the final name.
  const partial = `${options.archive}.partial`;
  const out = await open(partial, 'w');
  try {
    const tar = new TarWriter(out);
    await tar.file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    await tar.directory('blobs/');
    await tar.directory('blobs/sha256/');
    for (const [i, layer] of options.layers.entries()) {
      await tar.fileFrom(blobPath(layers[i]!.digest), layer.path, layers[i]!.size);
    }
    await tar.file(blobPath(config.digest), config.bytes);
    await tar.file(blobPath(manifest.digest), manifest.bytes);
    await tar.file('index.json', Buffer.from(JSON.stringify(index)));
    await tar.end();
  } catch (err) {
    await out.close();
    await rm(partial, { force: true });
    throw err;
  }
  await out.close();
  await rename(partial, options.archive);
  return { bytes: (await stat(options.archive)).size, manifestDigest: manifest.digest };
}

export function blobPath(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (algorithm !== 'sha256' || !hex || !/^[0-9a-f]{64}$/.test(hex))
    throw new Error(`not a sha256 digest: ${digest}`);
  return `blobs/sha256/${hex}`;
}

const BLOCK = 512;

/** A minimal ustar writer: regular files and directories with short names, owned by root, mode 0644/0755. */
class TarWriter {
  private readonly out: FileHandle;
  private readonly mtime = Math.floor(Date.now() / 1000);

  constructor(out: FileHandle) {
    this.out = out;
  }

  async directory(name: string): Promise<void> {
    await this.out.write(ustarHeader({ name, size: 0, mode: 0o755, mtime: this.mtime, type: '5' }));
  }

  async file(name: string, content: Buffer): Promise<void> {
    await this.out.write(
      ustarHeader({ name, size: content.length, mode: 0o644, mtime: this.mtime, type: '0' }),
    );
    await this.out.write(content);
    await this.pad(content.length);
  }

  async fileFrom(name: string, source: string, size: number): Promise<void> {
    await this.out.write(ustarHeader({ name, size, mode: 0o644, mtime: this.mtime, type: '0' }));
    let written = 0;
    for await (const chunk of createReadStream(source, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      await this.out.write(chunk);
      written += chunk.length;
    }
    if (written !== size)
      throw new Error(`${source} changed while it was archived (${written} bytes, expected ${size})`);
    await this.pad(size);
  }

  async end(): Promise<void> {
    await this.out.write(Buffer.alloc(BLOCK * 2));
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest !== 0) await this.out.write(Buffer.alloc(BLOCK - rest));
  }
}

export interface UstarEntry {
  name: string;
  size: number;
  mode: number;
  mtime: number;
  /** '0' for a regular file, '5' for a directory. */
  type: '0' | '5';
}

export function ustarHeader(entry: UstarEntry): Buffer {
  if (Buffer.byteLength(entry.name) > 100)
    throw new Error(`tar entry name too long for ustar: ${entry.name}`);
  const header = Buffer.alloc(BLOCK);
  const octal = (value: number, offset: number, width: number) => {
    const digits = value.toString(8);
    if (digits.length > width - 1) throw new Error(`${value} does not fit a ${width}-byte tar field`);
    header.write(digits.padStart(width - 1, '0') + '\0', offset, width, 'ascii');
  };
  header.write(entry.name, 0, 100, 'utf8');
  octal(entry.mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(entry.size, 124, 12);
  octal(entry.mtime, 136, 12);
  header.write(entry.type, 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');
  // The checksum is computed with its own field read as spaces.
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return header;
}

export interface ArchiveEntry {
  name: string;
  type: string;
  /** Offset of the entry's content in the archive. */
  offset: number;
  size: number;
}

/** Lists the entries of an uncompressed tar (ustar or pax headers; pax extended records are skipped). */
export async function listTar(path: string): Promise<ArchiveEntry[]> {
  const file = await open(path, 'r');
  try {
    const entries: ArchiveEntry[] = [];
    const header = Buffer.alloc(BLOCK);
    let offset = 0;
    for (;;) {
      const { bytesRead } = await file.read(header, 0, BLOCK, offset);
      if (bytesRead < BLOCK || header.every((byte) => byte === 0)) break;
      const field = (start: number, width: number) =>
        header.toString('utf8', start, start + width).replace(/\0.*$/s, '');
      const size = parseInt(field(124, 12).trim() || '0', 8);
      const prefix = field(345, 155);
      const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
      const type = field(156, 1) || '0';
      entries.push({ name, type, offset: offset + BLOCK, size });
      offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    }
    return entries;
  } finally {
    await file.close();
  }
}

export interface VerifiedArchive {
  name: string;
  tag: string;
  manifestDigest: string;
  config: { config?: ImageConfig; rootfs?: { diff_ids?: string[] } };
  layers: Descriptor[];
}

/** Checks an archive as containerd's importer reads it; throws an Error that names the first problem. */
export async function verifyOciArchive(path: string): Promise<VerifiedArchive> {
  const entries = new Map(
    (await listTar(path)).filter((e) => e.type === '0').map((e) => [e.name.replace(/^\.\//, ''), e]),
  );
  const read = async (name: string): Promise<Buffer> => {
    const entry = entries.get(name);
    if (!entry) throw new Error(`${path} has no ${name}`);
    const file = await open(path, 'r');
    try {
      const content = Buffer.alloc(entry.size);
      await file.read(content, 0, entry.size, entry.offset);
      return content;
    } finally {
      await file.close();
    }
  };
  const blob = async (descriptor: Descriptor): Promise<void> => {
    const entry = entries.get(blobPath(descriptor.digest));
    if (!entry) throw new Error(`${path} lacks the blob ${descriptor.digest}`);
    const actual = await describeBlob(path, { start: entry.offset, size: entry.size });
    if (actual.size !== descriptor.size) {
      throw new Error(
        `blob ${descriptor.digest} is ${actual.size} bytes, its descriptor says ${descriptor.size}`,
      );
    }
    if (actual.digest !== descriptor.digest)
      throw new Error(`blob ${descriptor.digest} has digest ${actual.digest}`);
  };

  const layout = JSON.parse((await read('oci-layout')).toString()) as { imageLayoutVersion?: string };
  if (layout.imageLayoutVersion !== '1.0.0') throw new Error(`${path}: oci-layout is not version 1.0.0`);
  const index = JSON.parse((await read('index.json')).toString()) as { manifests?: Descriptor[] };
  const [descriptor, ...others] = index.manifests ?? [];
  if (!descriptor || others.length > 0)
    throw new Error(`${path}: index.json should name exactly one manifest`);
  if (descriptor.mediaType !== mediaTypes.manifest)
    throw new Error(`${path}: index names a ${descriptor.mediaType}`);
  const name = descriptor.annotations?.[imageNameAnnotation];
  const tag = descriptor.annotations?.[refNameAnnotation];
  if (!name) throw new Error(`${path}: the manifest descriptor has no ${imageNameAnnotation} annotation`);
  if (tag !== splitReference(name).tag)
    throw new Error(`${path}: ${refNameAnnotation} ${tag} is not the tag of ${name}`);
  await blob(descriptor);

  const manifest = JSON.parse((await read(blobPath(descriptor.digest))).toString()) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  await blob(manifest.config);
  for (const layer of manifest.layers) {
    if (layer.mediaType !== mediaTypes.layer)
      throw new Error(`${path}: layer ${layer.digest} is ${layer.mediaType}`);
    await blob(layer);
  }
  const config = JSON.parse(
    (await read(blobPath(manifest.config.digest))).toString(),
  ) as VerifiedArchive['config'];
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.join() !== manifest.layers.map((layer) => layer.digest).join()) {
    throw new Error(`${path}: the config's diff_ids do not match the manifest's layers`);
  }
  return { name, tag, manifestDigest: descriptor.digest, config, layers: manifest.layers };
}
