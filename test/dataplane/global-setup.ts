// Provides what the dataplane tests need and starts one real node (harness/node.ts) for the whole
// run; removes everything it made afterwards.
import type { TestProject } from 'vitest/node';
import { installCrds } from '../../harness/crds.ts';
import { LocalNode } from '../../harness/node.ts';
import { ensurePrerequisites } from '../../harness/prerequisites.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    nodeKubeconfig: string;
    nodeId: string;
    /** A user with no rights until a test grants some (check --probe's RBAC refusals). */
    probeUserKubeconfig: string;
  }
}

export const PROBE_USER = 'probe-engineer';

export default async function setup(project: TestProject) {
  await ensurePrerequisites();
  const node = await LocalNode.start({ users: { [PROBE_USER]: [] } });
  // As in a cluster with a policy engine: the controller writes PolicyReports where it may.
  await installCrds(node.kubeconfig);
  project.provide('nodeKubeconfig', node.kubeconfig);
  project.provide('nodeId', node.id);
  project.provide('probeUserKubeconfig', node.userKubeconfig(PROBE_USER));
  return () => node.stop();
}
