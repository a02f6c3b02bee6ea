// The figures `npm run bench -- compare` measures of each operator, and the table it prints of them.

export interface OperatorFigures {
  /** First create to all Ready. */
  seconds: number;
  /** Last create returned to all Ready. */
  secondsBehindLastCreate: number;
  /** How long the creates took (the user's apply while the operator runs). */
  createSeconds: number;
  /** Broker requests from first create to all Ready, by method. */
  brokerRequests: Record<string, number>;
  /** PUTs, POSTs and DELETEs of a new process reconciling the unchanged set. */
  resyncWriteRequests: number;
  resyncRequests: Record<string, number>;
  resyncSeconds: number;
  /** Broker requests from the first delete to the last object gone. */
  deletionRequests: number;
  deletionRequestsByMethod: Record<string, number>;
  deletionSeconds: number;
  /** The highest resident memory of either process (converging, then resyncing and deleting). */
  peakRssMiB: number;
  /** Resident memory once started and synced with nothing to do. */
  idleRssMiB: number;
  /** Resident memory of the restarted process once it has resynced everything. */
  resyncRssMiB: number;
  /** CPU from first create to all Ready. */
  cpuSeconds: number;
  resyncCpuSeconds: number;
}

export interface Comparison {
  objects: number;
  apiServerFloorSeconds: number;
  warren: OperatorFigures;
  official: OperatorFigures;
}

function formatNumber(value: number): string {
  const digits = Number.isInteger(value) ? 0 : Math.abs(value) < 10 ? 2 : 1;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

function withMethods(counts: Record<string, number>): string {
  const methods = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([method, count]) => `${method} ${formatNumber(count)}`);
  return methods.length === 0 ? '0' : `${formatNumber(total(counts))} (${methods.join(', ')})`;
}

/** Warren's figure over the official operator's, as a factor; a dash where either is zero. */
function ratio(warren: number, official: number): string {
  if (warren === 0 || official === 0) return '–';
  return `${(warren / official).toFixed(2)}×`;
}

/** A Markdown table of both operators' figures, with Warren's over the official one's in the last column. */
export function comparisonTable(comparison: Comparison): string {
  const { warren, official } = comparison;
  const rows: [string, string, string, string][] = [
    [
      'first create → all Ready',
      `${formatNumber(warren.seconds)} s`,
      `${formatNumber(official.seconds)} s`,
      ratio(warren.seconds, official.seconds),
    ],
    [
      'last create → all Ready',
      `${formatNumber(warren.secondsBehindLastCreate)} s`,
      `${formatNumber(official.secondsBehindLastCreate)} s`,
      ratio(warren.secondsBehindLastCreate, official.secondsBehindLastCreate),
    ],
    [
      'creates while the operator runs',
      `${formatNumber(warren.createSeconds)} s`,
      `${formatNumber(official.createSeconds)} s`,
      ratio(warren.createSeconds, official.createSeconds),
    ],
    [
      'broker requests to converge',
      withMethods(warren.brokerRequests),
      withMethods(official.brokerRequests),
      ratio(total(warren.brokerRequests), total(official.brokerRequests)),
    ],
    [
      'broker writes in a resync after a restart',
      formatNumber(warren.resyncWriteRequests),
      formatNumber(official.resyncWriteRequests),
      ratio(warren.resyncWriteRequests, official.resyncWriteRequests),
    ],
    [
      'broker requests while deleting everything',
      withMethods(warren.deletionRequestsByMethod),
      withMethods(official.deletionRequestsByMethod),
      ratio(warren.deletionRequests, official.deletionRequests),
    ],
    [
      'operator CPU to converge / to resync',
      `${formatNumber(warren.cpuSeconds)} s / ${formatNumber(warren.resyncCpuSeconds)} s`,
      `${formatNumber(official.cpuSeconds)} s / ${formatNumber(official.resyncCpuSeconds)} s`,
      `${ratio(warren.cpuSeconds, official.cpuSeconds)} / ${ratio(warren.resyncCpuSeconds, official.resyncCpuSeconds)}`,
    ],
    [
      'peak RSS',
      `${formatNumber(warren.peakRssMiB)} MiB`,
      `${formatNumber(official.peakRssMiB)} MiB`,
      ratio(warren.peakRssMiB, official.peakRssMiB),
    ],
    [
      'RSS idle, nothing cached',
      `${formatNumber(warren.idleRssMiB)} MiB`,
      `${formatNumber(official.idleRssMiB)} MiB`,
      ratio(warren.idleRssMiB, official.idleRssMiB),
    ],
    [
      'RSS after a restart, everything cached',
      `${formatNumber(warren.resyncRssMiB)} MiB`,
      `${formatNumber(official.resyncRssMiB)} MiB`,
      ratio(warren.resyncRssMiB, official.resyncRssMiB),
    ],
  ];
  const header = `| ${formatNumber(comparison.objects)} objects | Warren | official | Warren / official |`;
  const lines = [
    header,
    '| --- | --- | --- | --- |',
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
    '',
    `API server floor for the same objects, without any operator: ${formatNumber(comparison.apiServerFloorSeconds)} s`,
  ];
  return lines.join('\n');
}
