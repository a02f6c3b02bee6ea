import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparisonTable, type OperatorFigures } from './compare-table.ts';

const warren: OperatorFigures = {
  seconds: 12.34,
  secondsBehindLastCreate: 0.6,
  createSeconds: 11.7,
  brokerRequests: { PUT: 1000, GET: 4, POST: 400 },
  resyncWriteRequests: 0,
  resyncRequests: { GET: 4 },
  resyncSeconds: 2,
  deletionRequests: 1210,
  deletionRequestsByMethod: { DELETE: 1200, GET: 10 },
  deletionSeconds: 9,
  peakRssMiB: 150.44,
  idleRssMiB: 95,
  resyncRssMiB: 120,
  cpuSeconds: 8,
  resyncCpuSeconds: 0.5,
};
const official: OperatorFigures = {
  ...warren,
  seconds: 24.68,
  secondsBehindLastCreate: 12.9,
  brokerRequests: { PUT: 2000, POST: 800 },
  resyncWriteRequests: 1400,
  deletionRequests: 605,
  deletionRequestsByMethod: { DELETE: 605 },
  peakRssMiB: 60,
  idleRssMiB: 40,
  cpuSeconds: 16,
  resyncCpuSeconds: 5,
};

describe('The comparison table', () => {
  const table = comparisonTable({ objects: 1000, apiServerFloorSeconds: 7.5, warren, official }).split('\n');

  it('heads its columns with the size of the run and the two operators', () => {
    assert.equal(table[0], '| 1,000 objects | Warren | official | Warren / official |');
    assert.equal(table[1], '| --- | --- | --- | --- |');
  });

  it("gives each figure of both operators and Warren's over the official one's", () => {
    assert.ok(table.includes('| first create → all Ready | 12.3 s | 24.7 s | 0.50× |'));
    assert.ok(table.includes('| last create → all Ready | 0.60 s | 12.9 s | 0.05× |'));
    assert.ok(
      table.includes(
        '| broker requests to converge | 1,404 (GET 4, POST 400, PUT 1,000) | 2,800 (POST 800, PUT 2,000) | 0.50× |',
      ),
    );
    assert.ok(
      table.includes(
        '| broker requests while deleting everything | 1,210 (DELETE 1,200, GET 10) | 605 (DELETE 605) | 2.00× |',
      ),
    );
    assert.ok(
      table.includes('| operator CPU to converge / to resync | 8 s / 0.50 s | 16 s / 5 s | 0.50× / 0.10× |'),
    );
    assert.ok(table.includes('| peak RSS | 150.4 MiB | 60 MiB | 2.51× |'));
  });

  it('shows a dash rather than a factor where one side is zero', () => {
    assert.ok(table.includes('| broker writes in a resync after a restart | 0 | 1,400 | – |'));
  });

  it('ends with the API server floor of the same run', () => {
    assert.equal(table.at(-1), 'API server floor for the same objects, without any operator: 7.50 s');
  });
});
