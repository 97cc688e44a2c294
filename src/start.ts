// The controller's wiring, importable: client → manager with the controllers → HTTP servers →
// leader election. The CLI, the tests, the demo and the benchmark all start it through here.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { type Config, ConfigError, FIXED } from './config.ts';
import { apiServerAccess } from './controllers/apiserver.ts';
import { PolicySource } from './controllers/policy-source.ts';
import { apiServerProblem, reloadOnChange } from './reload.ts';
import { controllers } from './controllers/index.ts';
import { UsageError } from './flags.ts';
import type { Deps } from './controllers/deps.ts';
import { DataplaneStatus } from './controllers/dataplane/status.ts';
import { type ClusterPolicyReport, DATAPLANE_REPORT_PATH } from './probe/report.ts';
import { PolicyStatus } from './controllers/status.ts';
import { availability } from './kube/discovery.ts';
import { KubeClient, loadKubeConfig, type ResponseObserver } from './kube/client.ts';
import { EventRecorder } from './kube/events.ts';
import { elect } from './election.ts';
import { MANAGED_BY_VALUE, METRICS_PREFIX } from './policy/labels.ts';
import {
  EventLoopWatch,
  metricsRoute,
  parseBindAddress,
  probeRoute,
  serve,
  type Serving,
} from './runtime/http.ts';
import { Manager } from './runtime/manager.ts';
import { registerEventMetrics, registerProcessMetrics, registerRestClientMetric } from './runtime/metrics.ts';
import { VERSION } from './version.ts';

export interface StartOptions {
  config: Config;
  /** The file `config` came from, and its text: watched, and reloaded when it changes. */
  configFile?: { path: string; text: string } | undefined;
  log: Logger;
  /** A kubeconfig path or `a:b` list; the pod's ServiceAccount when absent. Unused when `client` is given. */
  kubeconfig?: string | undefined;
  dryRun: boolean;
  /** `:8080`, `127.0.0.1:0`, or `0` for none. */
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  /** Where the Lease lives; leader election is off when undefined. */
  leaderElectionNamespace?: string | undefined;
  /** The lease was lost: another replica may be writing already. The CLI exits 1. */
  onLeaseLost?: () => void;
  /** Clients of the caller's own (tests count requests, or freeze the connection Events use). */
  client?: KubeClient;
  eventsClient?: KubeClient;
}

export interface Running {
  manager: Manager<Deps>;
  registry: Registry;
  client: KubeClient;
  events: EventRecorder;
  /** host:port of the metrics and probe servers, when serving. */
  metricsAddress: string | undefined;
  probesAddress: string | undefined;
  /** Stops in order: readiness fails, watches close, the queues drain (then what is left is
   * aborted), the lease is released, Events are flushed, servers close. */
  stop(): Promise<void>;
}

/** Starts the controller; throws on a bad bind address or kubeconfig, or a port in use. */
export async function start(options: StartOptions): Promise<Running> {
  const { config, log, dryRun } = options;
  const binds = {
    metrics: bindAddress('metrics-bind-address', options.metricsBindAddress),
    probes: bindAddress('health-probe-bind-address', options.healthProbeBindAddress),
  };
  const registry = new Registry();
  registerProcessMetrics(registry, VERSION);
  const { client, eventsClient, answer } = connect(options, registry);
  const events = eventRecorder(eventsClient, registry, log);
  const [reports, apiServer, dataplane] = await Promise.all([
    policyReports(client, log),
    apiServerWatch(client, log),
    heldDataplaneReport(client, config),
  ]);
  const unusable = apiServerProblem(config, apiServer);
  if (unusable) throw new ConfigError(options.configFile?.path ?? 'the configuration', [unusable]);
  const policy = new PolicySource(config);
  const deps: Deps = {
    client,
    config,
    policy,
    apiServer: apiServer === undefined,
    dryRun,
    events,
    status: new PolicyStatus(),
    reports,
    dataplane: new DataplaneStatus(dataplane),
  };
  const manager = newManager(deps, registry, log);
  answer.heard = () => manager.answered();
  manager.start();
  const reloading = options.configFile
    ? reloadOnChange({
        file: options.configFile,
        source: policy,
        log,
        events,
        apiServerUnavailable: apiServer,
      })
    : undefined;
  let stopping = false;
  const servers = await serveEndpoints(binds, registry, manager, () => stopping, log).catch(
    async (err: unknown) => {
      await manager.stop();
      throw err;
    },
  );
  const elector = options.leaderElectionNamespace
    ? elect(options.leaderElectionNamespace, client, config, registry, manager, log, options.onLeaseLost)
    : undefined;
  if (!elector) manager.lead();
  log.info({ version: VERSION, dryRun, leaderElect: elector !== undefined }, 'controller started');

  return {
    manager,
    registry,
    client,
    events,
    metricsAddress: servers.metrics,
    probesAddress: servers.probes,
    async stop() {
      if (stopping) return;
      stopping = true;
      reloading?.close();
      log.info('stopping: closing watches and draining the queue');
      const { drained } = await manager.stop();
      // Only now: nothing of ours is in flight, so the next leader never overlaps our writes.
      if ((await elector?.stop()) === 'released') log.info('released the lease');
      const flushed = await events.close(FIXED.events.closeTimeoutMs);
      await servers.close();
      // After requests were aborted, the pools are left to the process's exit: closing them would
      // destroy HTTP/2 streams that undici 8 has already let go of, whose late 'error' event
      // crashes the process ("ClientDestroyedError: The client is destroyed").
      if (drained && flushed) {
        const ours = [client, eventsClient].filter((c) => c !== options.client && c !== options.eventsClient);
        await Promise.all(ours.map((c) => c.close()));
      }
      log.info('stopped');
    },
  };
}

function bindAddress(flag: string, value: string): ReturnType<typeof parseBindAddress> {
  try {
    return parseBindAddress(value);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`);
  }
}

/**
 * The clients: one for reconciles and watches, one for Events (a connection frozen under Events
 * holds no reconcile). Any answer from the server (not a 5xx) ends an outage: `answer.heard` is
 * called, so that the watches waiting it out restart at once.
 */
function connect(options: StartOptions, registry: Registry) {
  const counted = registerRestClientMetric(registry);
  const answer = { heard: (): void => undefined }; // the manager's, once it exists
  const observe: ResponseObserver = (method, code) => {
    counted(method, code);
    if (typeof code === 'number' && code < 500) answer.heard();
  };
  const access = options.client ? undefined : loadKubeConfig(options.kubeconfig);
  const client = options.client ?? new KubeClient(access!, observe);
  const eventsClient = options.eventsClient ?? (access ? new KubeClient(access, observe) : client);
  return { client, eventsClient, answer };
}

function eventRecorder(client: KubeClient, registry: Registry, log: Logger): EventRecorder {
  const metrics = registerEventMetrics(registry, METRICS_PREFIX);
  return new EventRecorder(client, {
    controller: MANAGED_BY_VALUE,
    instance: hostname(),
    ...FIXED.events,
    failed: (err) => {
      metrics.failed();
      log.warn({ err }, 'could not record an Event');
    },
    dropped: () => metrics.dropped(),
  });
}

function newManager(deps: Deps, registry: Registry, log: Logger): Manager<Deps> {
  const { config, client } = deps;
  return new Manager<Deps>(
    controllers,
    deps,
    {
      concurrency: config.concurrency,
      resyncPeriodMs: config.resyncPeriodSeconds * 1000,
      drainTimeoutMs: config.gracefulShutdownSeconds * 1000,
      backoff: { baseMs: config.backoff.baseMilliseconds, maxMs: config.backoff.maxSeconds * 1000 },
      rateLimit: config.rateLimit,
      watch: {
        silenceTimeoutMs: config.watchSilenceSeconds * 1000,
        streamLists: config.streamingLists,
        backoffBaseMs: FIXED.watchBackoff.baseMs,
        backoffMaxMs: FIXED.watchBackoff.maxMs,
      },
      metricsPrefix: METRICS_PREFIX,
      connectionDead: () => {
        log.warn('a watch fell silent: replacing the connections to the API server');
        client.resetConnections();
      },
      probe: (signal) => client.ready(signal),
      probeEveryMs: FIXED.recoveryProbeMs,
    },
    log,
    registry,
  );
}

/** /metrics, and the health probes (/readyz fails once `stopping()`); the addresses bound. */
async function serveEndpoints(
  binds: { metrics: ReturnType<typeof parseBindAddress>; probes: ReturnType<typeof parseBindAddress> },
  registry: Registry,
  manager: Manager<Deps>,
  stopping: () => boolean,
  log: Logger,
): Promise<{ metrics?: string; probes?: string; close(): Promise<void> }> {
  const loop = new EventLoopWatch();
  const servers: Serving[] = [];
  const close = async () => {
    await Promise.all(servers.map((s) => s.close()));
    loop.stop();
  };
  try {
    let metrics: string | undefined;
    let probes: string | undefined;
    if (binds.metrics !== 'off') {
      servers.push(await serve(binds.metrics, { '/metrics': metricsRoute(registry) }));
      metrics = servers.at(-1)!.address;
      log.info({ address: metrics }, 'serving metrics');
    }
    if (binds.probes !== 'off') {
      servers.push(
        await serve(binds.probes, {
          '/healthz': probeRoute('healthz', { ping: () => undefined, eventloop: loop.check }),
          '/readyz': probeRoute('readyz', {
            'informer-sync': () => manager.ready(),
            shutdown: () => (stopping() ? 'shutting down' : undefined),
          }),
        }),
      );
      probes = servers.at(-1)!.address;
      log.info({ address: probes }, 'serving health probes');
    }
    return { metrics, probes, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The dataplane probe's ClusterPolicyReport as the API server holds it, where the probe is on. */
async function heldDataplaneReport(
  client: KubeClient,
  config: Config,
): Promise<ClusterPolicyReport | undefined> {
  if (!config.probe) return undefined;
  return client.get<ClusterPolicyReport>(DATAPLANE_REPORT_PATH).catch(() => undefined);
}

/** Whether PolicyReports can be written: said once, either way. */
async function policyReports(client: KubeClient, log: Logger): Promise<boolean> {
  try {
    const found = await availability(client, 'PolicyReport', ['list', 'watch', 'create', 'patch', 'delete']);
    if (found.available) log.info('writing a PolicyReport (wgpolicyk8s.io/v1alpha2) per managed namespace');
    else
      log.info(
        { why: found.why },
        'not writing PolicyReports: install manifests/components/policy-reports (and its CRD) to have them, then restart',
      );
    return found.available;
  } catch (err) {
    log.warn(
      { err },
      'could not tell whether PolicyReports can be written; not writing them until a restart',
    );
    return false;
  }
}

/** Why the API server's EndpointSlice cannot be watched, or undefined when it can. */
async function apiServerWatch(client: KubeClient, log: Logger): Promise<string | undefined> {
  try {
    const found = await apiServerAccess(client);
    return found.available ? undefined : found.why;
  } catch (err) {
    log.warn({ err }, 'could not tell whether the API server endpoints can be watched');
    return (err as Error).message;
  }
}
