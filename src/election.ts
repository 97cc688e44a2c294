// Leader election for the controller: campaigns for the Lease; the manager leads while this replica
// holds it, and the process exits as soon as it is lost (another replica may be writing already).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type Config, FIXED } from './config.ts';
import type { Deps } from './controllers/deps.ts';
import type { KubeClient } from './kube/client.ts';
import { leaseLock } from './kube/lease.ts';
import { LeaderElector } from './runtime/leader.ts';
import type { Manager } from './runtime/manager.ts';
import { registerLeaderMetric } from './runtime/metrics.ts';

/** Campaigns for the Lease; the manager leads while this replica holds it. */
export function elect(
  namespace: string,
  client: KubeClient,
  config: Config,
  registry: Registry,
  manager: Manager<Deps>,
  log: Logger,
  onLeaseLost: (() => void) | undefined,
): LeaderElector {
  const identity = `${hostname()}_${randomUUID()}`;
  const leading = registerLeaderMetric(registry, FIXED.leaseName);
  const lease = { namespace, name: FIXED.leaseName, identity };
  const le = config.leaderElection;
  const elector = new LeaderElector(
    leaseLock(client, namespace, FIXED.leaseName),
    identity,
    {
      leaseDurationMs: le.leaseDurationSeconds * 1000,
      renewDeadlineMs: le.renewDeadlineSeconds * 1000,
      retryPeriodMs: le.retryPeriodSeconds * 1000,
    },
    {
      startedLeading() {
        leading(true);
        log.info({ lease }, 'became leader; reconciling');
        manager.lead();
      },
      stoppedLeading() {
        // Another replica may already be writing: stop at once, as controller-runtime does.
        leading(false);
        log.fatal({ lease }, 'leader election lost; exiting');
        onLeaseLost?.();
      },
      newLeader: (holder) => log.info({ lease, holder }, 'another replica holds the lease; standing by'),
      attemptFailed: (err) => log.warn({ lease, err }, 'could not acquire or renew the lease'),
    },
  );
  void elector.run();
  return elector;
}
