// The chart's version and schema stay in step with the controller's: one place for each.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR, chartSchema, SCHEMA_PATH } from '../../harness/chart.ts';
import { VERSION as version } from '../../src/version.ts';

describe('the Helm chart', () => {
  it("takes its version and appVersion from package.json's", async () => {
    const chart = parse(await readFile(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as Record<string, string>;
    expect({ version: chart.version, appVersion: chart.appVersion }).toEqual({
      version,
      appVersion: version,
    });
  });

  it("checks config with the controller's own schema (run node scripts/chart-schema.ts after changing src/config.ts)", async () => {
    expect(JSON.parse(await readFile(SCHEMA_PATH, 'utf8'))).toEqual(chartSchema());
  });
});
