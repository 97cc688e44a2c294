// `npm run prerequisites` (and `npm test`'s pretest step): provides what the tests need, once, before
// the first test runs: a container engine (podman, runc and mmdebstrap from apt where no Docker
// daemon answers), the control plane, kubectl, kustomize and Helm built from the Go module proxy,
// the bundle and the image. Exit 3 when one is missing and cannot be provided here, with one line
// naming it and the command that fixes it.
import { ensurePrerequisites, MissingPrerequisiteError } from '../harness/prerequisites.ts';

try {
  await ensurePrerequisites();
} catch (err) {
  process.stderr.write(`prerequisites: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof MissingPrerequisiteError ? 3 : 1);
}
