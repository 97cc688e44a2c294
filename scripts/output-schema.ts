// `node scripts/output-schema.ts`: writes docs/check-output.schema.json, the JSON Schema of
// `check -o json|yaml` (src/cli/schema.ts). test/unit/output-schema.test.ts fails when the
// committed file differs from what this writes.
import { writeFile } from 'node:fs/promises';
import { OUTPUT_SCHEMA_PATH, outputSchema } from '../src/cli/schema.ts';

await writeFile(OUTPUT_SCHEMA_PATH, `${JSON.stringify(outputSchema(), null, 2)}\n`);
