// `npm run build:controlplane`: builds test/controlplane if its sources changed (CI's install step).
import { ensureBuilt, MissingGoError } from '../test/support/controlplane.ts';

try {
  await ensureBuilt();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof MissingGoError ? 3 : 1);
}
