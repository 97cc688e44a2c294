// What every controller is given: the API client, the configuration in force, the Event recorder.
import type { Config } from '../config.ts';
import type { KubeClient } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';

export interface Deps {
  client: KubeClient;
  config: Config;
  /** Writes are sent with dryRun=All: nothing changes, Events and metrics say what would have. */
  dryRun: boolean;
  events: EventRecorder;
}
