// The schema of check -o json|yaml is published; it must be the one the code is typed by.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMA_PATH, outputSchema } from '../../src/cli/schema.ts';

describe('docs/check-output.schema.json', () => {
  it('is what src/cli/schema.ts says (run node scripts/output-schema.ts after changing it)', async () => {
    expect(JSON.parse(await readFile(OUTPUT_SCHEMA_PATH, 'utf8'))).toEqual(outputSchema());
  });
});
