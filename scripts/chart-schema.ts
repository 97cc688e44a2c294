// `node scripts/chart-schema.ts`: writes the Helm chart's values.schema.json, whose `config` is
// the controller configuration's own schema (src/config.ts) and the rest the chart's values.
// test/unit/chart.test.ts fails when the committed file differs from what this writes.
import { writeFile } from 'node:fs/promises';
import { chartSchema, SCHEMA_PATH } from '../harness/chart.ts';

await writeFile(SCHEMA_PATH, `${JSON.stringify(chartSchema(), null, 2)}\n`);
