// `npm run build:go`: builds the Go programs the tests use, the local control plane, kubectl and kustomize,
// where their sources changed (CI's install step).
import { CONTROL_PLANE, ensureGoBinary, KUBECTL, KUSTOMIZE, MissingGoError } from '../harness/gobuild.ts';

try {
  await ensureGoBinary(CONTROL_PLANE);
  await ensureGoBinary(KUBECTL);
  await ensureGoBinary(KUSTOMIZE);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof MissingGoError ? 3 : 1);
}
