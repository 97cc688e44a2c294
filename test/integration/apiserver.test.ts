// The local control plane is a real API server: CRUD, server-side apply and RBAC through client-node.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { clients, statusOf, uniqueName } from '../support/kube.ts';

const admin = clients(inject('kubeconfig'));

describe('local control plane', () => {
  it('creates, reads, server-side applies and deletes a NetworkPolicy', async () => {
    const namespace = uniqueName('it-api');
    await admin.core.createNamespace({ body: { metadata: { name: namespace } } });

    await admin.net.createNamespacedNetworkPolicy({
      namespace,
      body: {
        metadata: { name: 'deny', namespace },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      },
    });
    const read = await admin.net.readNamespacedNetworkPolicy({ name: 'deny', namespace });
    expect(read.spec?.policyTypes).toEqual(['Ingress']);

    const applied = await admin.net.patchNamespacedNetworkPolicy(
      {
        name: 'deny',
        namespace,
        fieldManager: 'integration-test',
        force: true,
        body: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'deny', namespace },
          spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
    expect(applied.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(applied.metadata?.managedFields?.map((m) => m.manager)).toContain('integration-test');

    await admin.net.deleteNamespacedNetworkPolicy({ name: 'deny', namespace });
    expect(await statusOf(admin.net.readNamespacedNetworkPolicy({ name: 'deny', namespace }))).toBe(404);
  });

  it('refuses a user that RBAC grants nothing with 403', async () => {
    const nobody = clients(inject('nobodyKubeconfig'));
    expect(await statusOf(nobody.core.listNamespace())).toBe(403);
    expect(await statusOf(nobody.net.listNetworkPolicyForAllNamespaces())).toBe(403);
    // The same request as admin succeeds: the refusal is authorization, not a broken connection.
    expect(await statusOf(admin.core.listNamespace())).toBeUndefined();
  });
});
