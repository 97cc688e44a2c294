// Kubernetes clients for tests, built with @kubernetes/client-node from a kubeconfig file.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';

export function kubeConfig(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export function clients(path: string) {
  const kc = kubeConfig(path);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    net: kc.makeApiClient(k8s.NetworkingV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
  };
}

/** A namespace name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The HTTP status of a failed client-node call, or undefined when it did not fail that way. */
export async function statusOf(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    if (err instanceof k8s.ApiException) return err.code;
    throw err;
  }
}
