// Benchmarks print figures, not verdicts: progress goes to stderr, and the last line on stdout is one JSON
// object with the results.
//
//   npm run bench -- topology --objects 1000 [--raw-only] [--timeout 600] [--operator-env KEY=value ...]
//                             [--finalizer-by policy|operator]
//   npm run bench -- compare --objects 1000 [--timeout 900]
//     (also prints a table of both operators' figures before the JSON line)
//   npm run bench -- latency [--objects 200] [--starts 5] [--timeout 900]
import { parseArgs } from 'node:util';
import { runComparison } from './compare.ts';
import { runLatencyBenchmark } from './latency.ts';
import { runTopologyBenchmark } from './topology.ts';

const usage = [
  'usage: npm run bench -- topology --objects N [--raw-only] [--timeout SECONDS] [--operator-env KEY=value] [--finalizer-by policy|operator]',
  '       npm run bench -- compare --objects N [--timeout SECONDS]',
  '       npm run bench -- latency [--objects N] [--starts N] [--timeout SECONDS]',
].join('\n');

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      objects: { type: 'string' },
      starts: { type: 'string', default: '5' },
      'raw-only': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '900' },
      'create-concurrency': { type: 'string', default: '32' },
      'operator-env': { type: 'string', multiple: true, default: [] },
      'finalizer-by': { type: 'string', default: 'policy' },
    },
  });
  const [benchmark] = positionals;
  if (benchmark !== 'topology' && benchmark !== 'compare' && benchmark !== 'latency') {
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }
  const objects = Number(values.objects ?? (benchmark === 'latency' ? '200' : '1000'));
  if (!Number.isInteger(objects) || objects < 1)
    throw new Error(`--objects must be a positive integer: ${usage}`);
  if (benchmark === 'latency') {
    const starts = Number(values.starts);
    if (!Number.isInteger(starts) || starts < 1)
      throw new Error(`--starts must be a positive integer: ${usage}`);
    const result = await runLatencyBenchmark({ objects, starts, timeoutMs: Number(values.timeout) * 1000 });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (benchmark === 'compare') {
    const { table, result } = await runComparison({
      objects,
      createConcurrency: Number(values['create-concurrency']),
      timeoutMs: Number(values.timeout) * 1000,
    });
    process.stdout.write(`${table}\n${JSON.stringify(result)}\n`);
    return;
  }
  const finalizerBy = values['finalizer-by'];
  if (finalizerBy !== 'policy' && finalizerBy !== 'operator')
    throw new Error(`--finalizer-by takes policy or operator: ${usage}`);
  const operatorEnv = Object.fromEntries(
    values['operator-env'].map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--operator-env takes KEY=value, got "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const result = await runTopologyBenchmark({
    objects,
    rawConcurrency: 8,
    createConcurrency: Number(values['create-concurrency']),
    timeoutMs: Number(values.timeout) * 1000,
    rawOnly: values['raw-only'],
    operatorEnv,
    finalizerBy,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

process.on('unhandledRejection', (error) => {
  process.stderr.write(`unhandled rejection: ${String(error)}\n`);
  process.exit(1);
});

await main();
