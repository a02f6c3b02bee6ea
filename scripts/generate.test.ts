import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staleApiFiles } from './generate.ts';

describe('Generated API files', () => {
  it('match the schemas in src/api (run npm run generate when this fails)', async () => {
    assert.deepEqual(await staleApiFiles(), [], 'stale files: run npm run generate and commit the result');
  });
});
