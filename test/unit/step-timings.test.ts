import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinStepTimings, stepTimingsTable } from '../../lib/report/run-details';

test("the step table names each step's backend when the activities recorded one", () => {
  const steps = joinStepTimings(
    ['ingest', 'finetune'],
    { ingest: { seconds: 2, activities: 3 }, finetune: { seconds: 60, activities: 1, backend: 'tensorflow (tfjs-node, native CPU build); passed over tensorflow-gpu (no module)' } },
    { ingest: 2.5, finetune: 61 },
  );
  const table = stepTimingsTable(steps);
  assert.deepEqual(table.head, ['Step', 'Worker time', 'Activities', 'Wall time', 'Backend']);
  assert.equal(table.rows[0][4], '–');
  assert.match(String(table.rows[1][4]), /passed over tensorflow-gpu/);
  assert.equal(table.rows[2].length, 5);
});

test('reports from before backends were recorded get no Backend column', () => {
  const table = stepTimingsTable(joinStepTimings(['train'], { train: { seconds: 5, activities: 1 } }, {}));
  assert.deepEqual(table.head, ['Step', 'Worker time', 'Activities', 'Wall time']);
  assert.equal(table.rows[0].length, 4);
});
