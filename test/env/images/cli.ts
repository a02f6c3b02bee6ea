// node test/env/images/cli.ts build [pause|rabbitmq|operator|amqp-check|all]
// node test/env/images/cli.ts verify <archive>
//
//   build   builds the named image, or all of them as ensureImages() does (the default), unless the cache holds
//           them, and prints each one's name, size, build time (or that it came from the cache) and archive;
//           progress goes to stderr
//   verify  checks an OCI archive's blobs against their digests and prints the image name and layers
import { TestEnvError } from '../process.ts';
import type { BuiltImage } from './built-image.ts';
import { elapsedSeconds, megabytes } from './host.ts';
import { ensureImage, ensureImages, imageKinds, type ImageKind } from './images.ts';
import { verifyOciArchive } from './oci.ts';

const usage =
  'usage: node test/env/images/cli.ts build [pause|rabbitmq|operator|amqp-check|all] | verify <archive>\n';

function describe(image: BuiltImage): string {
  const how = image.builtSeconds === undefined ? 'cached' : `built in ${image.builtSeconds}s`;
  return `${image.name}  ${megabytes(image.bytes)}  ${how}\n  ${image.archive}\n`;
}

async function build(which: string | undefined): Promise<number> {
  const started = Date.now();
  let images: BuiltImage[];
  if (which === undefined || which === 'all') {
    images = Object.values(await ensureImages());
  } else if ((imageKinds as readonly string[]).includes(which)) {
    images = [await ensureImage(which as ImageKind)];
  } else {
    process.stderr.write(usage);
    return 2;
  }
  for (const image of images) process.stdout.write(describe(image));
  process.stdout.write(`${images.length} image(s) ready in ${elapsedSeconds(started)}s\n`);
  return 0;
}

async function verify(archive: string | undefined): Promise<number> {
  if (!archive) {
    process.stderr.write(usage);
    return 2;
  }
  const verified = await verifyOciArchive(archive);
  process.stdout.write(`${verified.name}  manifest ${verified.manifestDigest}\n`);
  for (const layer of verified.layers)
    process.stdout.write(`  layer ${layer.digest}  ${megabytes(layer.size)}\n`);
  return 0;
}

if (import.meta.main) {
  const [command, argument] = process.argv.slice(2);
  try {
    if (command === 'build') process.exitCode = await build(argument);
    else if (command === 'verify') process.exitCode = await verify(argument);
    else {
      process.stderr.write(usage);
      process.exitCode = 2;
    }
  } catch (err) {
    // Known failures say what failed in a sentence; anything else keeps its stack.
    process.stderr.write(
      `${err instanceof TestEnvError ? err.message : String(err instanceof Error ? err.stack : err)}\n`,
    );
    process.exitCode = 1;
  }
}
