// Provides what the tests need (already done by `npm test`'s pretest step: then a check of a second),
// starts one control plane for the whole integration run and stops it afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ControlPlane } from '../../harness/controlplane.ts';
import { installCrds } from '../../harness/crds.ts';
import { ensurePrerequisites } from '../../harness/prerequisites.ts';
import { controllerGroups, controllerUser, nobodyUser } from '../support/users.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    controllerKubeconfig: string;
    nobodyKubeconfig: string;
  }
}

export default async function setup(project: TestProject) {
  await ensurePrerequisites();
  const dataDir = await mkdtemp(join(tmpdir(), 'nic-integration-'));
  const cp = await ControlPlane.start({
    dataDir,
    users: { [controllerUser]: controllerGroups, [nobodyUser]: [] },
  });
  // As in a cluster with a policy engine: the controller writes PolicyReports where it may.
  await installCrds(cp.kubeconfig);
  project.provide('kubeconfig', cp.kubeconfig);
  project.provide('controllerKubeconfig', cp.userKubeconfig(controllerUser));
  project.provide('nobodyKubeconfig', cp.userKubeconfig(nobodyUser));
  return async () => {
    await cp.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
