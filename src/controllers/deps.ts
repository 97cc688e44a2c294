// What every controller is given: the API client, the configuration in force, the Event recorder.
import type { Config } from '../config.ts';
import type { KubeClient } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { DataplaneStatus } from './dataplane/status.ts';
import type { PolicySource } from './policy-source.ts';
import type { PolicyStatus } from './status.ts';

export interface Deps {
  client: KubeClient;
  /** The configuration the controller started with: what is not in `policy` takes effect at start. */
  config: Config;
  /** The policy configuration in force, which changes with the file and the API server's endpoints. */
  policy: PolicySource;
  /** The API server's EndpointSlice may be watched (for allow-kube-apiserver). */
  apiServer: boolean;
  /** Writes are sent with dryRun=All: nothing changes, Events and metrics say what would have. */
  dryRun: boolean;
  events: EventRecorder;
  /** The namespace controller's findings, read by the compliance controller. */
  status: PolicyStatus;
  /** PolicyReports are written: the CRD is installed and the controller may use it. */
  reports: boolean;
  /** The dataplane probe's last finding, read by the compliance controller. */
  dataplane: DataplaneStatus;
}
