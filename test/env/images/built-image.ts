// One cached image: the inputs that key it, the build that yields its layers and config, and the verified OCI
// archive that the cache keeps.
import { readFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cachedEntry, fileHasSize, inputHash, type HashInput } from './cache.ts';
import { elapsedSeconds, megabytes, type Log } from './host.ts';
import { verifyOciArchive, writeOciArchive, type ImageConfig, type LayerInput } from './oci.ts';

export interface BuiltImage {
  /** Full reference, e.g. localhost/warren/rabbitmq:4.0.5-0123456789ab. */
  name: string;
  /** The OCI archive, for `ctr -n k8s.io images import <archive>`. */
  archive: string;
  bytes: number;
  /** Present when this call built the image; absent when it came from the cache. */
  builtSeconds?: number;
}

interface ImageMetadata {
  name: string;
  bytes: number;
  manifestDigest: string;
}

export interface ImageRecipe {
  kind: string;
  /** What the image is made of; with the archive format, they key the cache. */
  inputs: readonly HashInput[];
  /** The image reference for an input hash. */
  name: (hash: string) => string;
  /** Makes the layers (below work, which is removed afterwards) and the runtime config. */
  build: (work: string, name: string, hash: string) => Promise<{ layers: LayerInput[]; config: ImageConfig }>;
}

const ARCHIVE = 'image.oci.tar';

// The archive format is an input of every image: a change to how archives are written rebuilds them all.
const formatInputs: HashInput[] = [
  { name: 'oci.ts', value: readFileSync(join(import.meta.dirname, 'oci.ts')) },
  { name: 'built-image.ts', value: readFileSync(import.meta.filename) },
];

export function imageHash(inputs: readonly HashInput[]): string {
  return inputHash([...inputs, ...formatInputs]);
}

/** started: when the caller began, so that builtSeconds includes the Debian base when this call made it. */
export async function cachedImage(recipe: ImageRecipe, log: Log, started = Date.now()): Promise<BuiltImage> {
  const hash = imageHash(recipe.inputs);
  const name = recipe.name(hash);
  const entry = await cachedEntry<ImageMetadata>(
    recipe.kind,
    hash,
    async (dir) => {
      const work = join(dir, 'work');
      mkdirSync(work);
      try {
        log(`building ${name}`);
        const { layers, config } = await recipe.build(work, name, hash);
        const archive = join(dir, ARCHIVE);
        const written = await writeOciArchive({ archive, name, config, layers });
        await verifyOciArchive(archive);
        return { name, bytes: written.bytes, manifestDigest: written.manifestDigest };
      } finally {
        // Inside the timing: the stages' node_modules take seconds to remove.
        rmSync(work, { recursive: true, force: true });
      }
    },
    {
      log,
      usable: (dir, metadata) => metadata.name === name && fileHasSize(join(dir, ARCHIVE), metadata.bytes),
    },
  );
  const image: BuiltImage = { name, archive: join(entry.dir, ARCHIVE), bytes: entry.metadata.bytes };
  if (entry.built) {
    image.builtSeconds = elapsedSeconds(started);
    log(`built ${name} (${megabytes(image.bytes)}, ${image.builtSeconds}s)`);
  }
  return image;
}

/** The first 12 hex digits of an input hash, as image tags carry it. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}
