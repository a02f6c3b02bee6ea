// What the demo prints, as pure functions of what it read: a status table and the broker's proof.

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface WarrenObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[] };
}

export interface StatusRow {
  kind: string;
  name: string;
  ready: string;
  reason: string;
  message: string;
}

export function conditionOf(object: Pick<WarrenObject, 'status'>, type: string): Condition | undefined {
  return object.status?.conditions?.find((condition) => condition.type === type);
}

/** A plain-text table; the message column shows only for rows that are not Ready. */
export function readyTable(rows: readonly StatusRow[]): string {
  const header: StatusRow = {
    kind: 'KIND',
    name: 'NAME',
    ready: 'READY',
    reason: 'REASON',
    message: 'MESSAGE',
  };
  const showMessage = rows.some((row) => row.ready !== 'True' && row.message !== '');
  const cells = [header, ...rows].map((row) => {
    const message = row === header || row.ready !== 'True' ? row.message : '';
    return showMessage
      ? [row.kind, row.name, row.ready, row.reason, message]
      : [row.kind, row.name, row.ready, row.reason];
  });
  const widths: number[] = [];
  for (const line of cells)
    line.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
  return cells
    .map((line) =>
      line
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export interface ProofQueue {
  name: string;
  type?: string;
}

export interface ProofBinding {
  source: string;
  destination: string;
  routing_key: string;
}

/** The broker's side of the story, in a few lines a person can check against config/samples. */
export function brokerProofLines(
  queues: readonly ProofQueue[],
  bindings: readonly ProofBinding[],
  routed: { routingKey: string; body: string },
): string[] {
  const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);
  const queueList = [...queues].sort(byName).map((q) => `${q.name} (${q.type ?? 'classic'})`);
  const bindingList = [...bindings]
    .map((b) => `${b.source} -[${b.routing_key === '' ? '#' : b.routing_key}]-> ${b.destination}`)
    .sort();
  return [
    `queues in vhost orders: ${queueList.join(', ')}`,
    'bindings in vhost orders:',
    ...bindingList.map((line) => `  ${line}`),
    `order-service published to exchange orders with key ${routed.routingKey};`,
    `billing-service consumed it from orders.billing: ${routed.body}`,
  ];
}
