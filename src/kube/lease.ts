// A coordination.k8s.io/v1 Lease as the leader election's lock: get, create, and update with the
// resourceVersion as precondition (a 409 Conflict when someone else wrote it first).
import type { LeaseLock, LeaseRecord } from '../runtime/leader.ts';
import type { KubeClient } from './client.ts';
import { microTime } from './microtime.ts';
import { resourcePath } from './resources.ts';

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export function leaseLock(client: KubeClient, namespace: string, name: string): LeaseLock {
  const collection = resourcePath('Lease', namespace);
  const toLease = (record: LeaseRecord, resourceVersion?: string): Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: microTime(record.acquireTime),
      renewTime: microTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  });
  const version = (lease: Lease) => lease.metadata.resourceVersion ?? '';
  return {
    async get(signal) {
      const lease = await client.get<Lease>(`${collection}/${name}`, { signal });
      if (!lease) return undefined;
      const s = lease.spec;
      return {
        version: version(lease),
        record: {
          holderIdentity: s.holderIdentity ?? '',
          leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
          acquireTime: s.acquireTime ? Date.parse(s.acquireTime) : 0,
          renewTime: s.renewTime ? Date.parse(s.renewTime) : 0,
          leaseTransitions: s.leaseTransitions ?? 0,
        },
      };
    },
    async create(record, signal) {
      return version(await client.request<Lease>('POST', collection, { body: toLease(record), signal }));
    },
    async update(record, resourceVersion, signal) {
      return version(
        await client.request<Lease>('PUT', `${collection}/${name}`, {
          body: toLease(record, resourceVersion),
          signal,
        }),
      );
    },
  };
}
