// `npm run build:go`: builds the Go programs the tests use, the local control plane, kubectl, kustomize and Helm,
// where their sources changed (CI's install step).
import {
  CONTROL_PLANE,
  ensureGoBinary,
  HELM,
  KUBECTL,
  KUSTOMIZE,
  MissingGoError,
} from '../harness/gobuild.ts';

try {
  await ensureGoBinary(CONTROL_PLANE);
  await ensureGoBinary(KUBECTL);
  await ensureGoBinary(KUSTOMIZE);
  await ensureGoBinary(HELM);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof MissingGoError ? 3 : 1);
}
