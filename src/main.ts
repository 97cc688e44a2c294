#!/usr/bin/env node
// Entry point: flags → configuration → logger → client → runtime → controller → HTTP servers;
// SIGTERM/SIGINT stop them in reverse order. `render` and `check` are in cli.ts.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { check, render, UsageError } from './cli.ts';
import { type Config, ConfigError, loadConfig, parseConfig, policyConfig } from './config.ts';
import { runController, type RunSettings } from './controller/manager.ts';
import { KubeClient, loadKubeConfig } from './kube/client.ts';
import { leaseLock } from './kube/lease.ts';
import {
  EventLoopWatch,
  metricsRoute,
  parseBindAddress,
  probeRoute,
  serve,
  type Serving,
} from './runtime/http.ts';
import { LeaderElector } from './runtime/leader.ts';
import { registerLeaderMetric, registerProcessMetrics, registerRestClientMetric } from './runtime/metrics.ts';

const LEASE_NAME = 'namespace-isolation-controller';
const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const USAGE = `usage: namespace-isolation-controller [run] [flags]       run the controller
       namespace-isolation-controller render --namespace NAME [--profile P] [--config PATH]
       namespace-isolation-controller check [--namespace NAME] [--config PATH] [--kubeconfig PATH]

run flags (each also read from the environment variable in brackets; a flag wins):
  --config PATH                      configuration file [CONFIG]; built-in defaults (= config/controller.yaml) when absent
  --kubeconfig PATH                  kubeconfig [KUBECONFIG]; the in-cluster ServiceAccount when absent
  --metrics-bind-address ADDR        serve /metrics here, 0 to disable [METRICS_BIND_ADDRESS] (default :8080)
  --health-probe-bind-address ADDR   serve /healthz and /readyz here, 0 to disable [HEALTH_PROBE_BIND_ADDRESS] (default :8081)
  --leader-elect                     only the holder of a Lease reconciles [LEADER_ELECT=true]
  --leader-election-namespace NS     where the Lease lives [LEADER_ELECTION_NAMESPACE]; in a cluster, the pod's namespace
  --dry-run                          send writes with dryRun=All: report what would change, change nothing [DRY_RUN=true]
  --log-level LEVEL                  trace, debug, info, warn or error [LOG_LEVEL] (default info)

render prints the policies a profile (default strict) puts in a namespace, exactly as applied.
check compares the live cluster with the configuration: exit 0 when every selected namespace is in
compliance, 1 when any is not (the differences are printed), 2 on a usage or configuration error.`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function boolEnv(name: string): boolean | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  if (['true', '1'].includes(value)) return true;
  if (['false', '0'].includes(value)) return false;
  usageError(`${name}: ${JSON.stringify(value)} is not true or false`);
}

const [first, ...rest] = process.argv.slice(2);
const command = first === 'run' || first === 'render' || first === 'check' ? first : 'run';
const argv = command === first ? rest : process.argv.slice(2);

const optionSets = {
  run: {
    config: { type: 'string' },
    kubeconfig: { type: 'string' },
    'metrics-bind-address': { type: 'string' },
    'health-probe-bind-address': { type: 'string' },
    'leader-elect': { type: 'boolean' },
    'leader-election-namespace': { type: 'string' },
    'dry-run': { type: 'boolean' },
    'log-level': { type: 'string' },
    help: { type: 'boolean' },
  },
  render: {
    config: { type: 'string' },
    namespace: { type: 'string' },
    profile: { type: 'string' },
    help: { type: 'boolean' },
  },
  check: {
    config: { type: 'string' },
    kubeconfig: { type: 'string' },
    namespace: { type: 'string' },
    help: { type: 'boolean' },
  },
} as const;

let flags: Partial<Record<string, string | boolean>>;
try {
  const options: Record<string, { type: 'string' | 'boolean' }> = optionSets[command];
  flags = parseArgs({ args: argv, options }).values;
} catch (err) {
  usageError(`${command}: ${(err as Error).message}`);
}
if (flags.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const flag = (name: string) => flags[name] as string | undefined;

const configPath = flag('config') ?? process.env.CONFIG;
let config: Config;
try {
  config = configPath ? loadConfig(configPath) : parseConfig({}, 'built-in defaults');
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

if (command === 'render') {
  const namespace = flag('namespace');
  if (!namespace) usageError('render: --namespace is required');
  try {
    process.stdout.write(render(policyConfig(config), namespace, flag('profile') ?? 'strict'));
  } catch (err) {
    if (err instanceof UsageError) usageError(`render: ${err.message}`);
    throw err;
  }
  process.exit(0);
}

const kubeconfig = flag('kubeconfig') ?? process.env.KUBECONFIG;

if (command === 'check') {
  let client: KubeClient | undefined;
  try {
    client = new KubeClient(loadKubeConfig(kubeconfig));
    const result = await check(client, policyConfig(config), config.optOut, flag('namespace'));
    process.stdout.write(result.report);
    process.exitCode = result.outOfCompliance > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`check: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  } finally {
    await client?.close();
  }
} else {
  await run();
}

async function run(): Promise<void> {
  const level = flag('log-level') ?? process.env.LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(level))
    usageError(`--log-level: ${JSON.stringify(level)} is not one of ${LEVELS.join(', ')}`);
  let metricsBind, probeBind;
  try {
    metricsBind = parseBindAddress(
      flag('metrics-bind-address') ?? process.env.METRICS_BIND_ADDRESS ?? ':8080',
    );
    probeBind = parseBindAddress(
      flag('health-probe-bind-address') ?? process.env.HEALTH_PROBE_BIND_ADDRESS ?? ':8081',
    );
  } catch (err) {
    usageError(`bind address: ${(err as Error).message}`);
  }
  const leaderElect = (flags['leader-elect'] as boolean | undefined) ?? boolEnv('LEADER_ELECT') ?? false;
  let leaseNamespace = flag('leader-election-namespace') ?? process.env.LEADER_ELECTION_NAMESPACE;
  if (leaderElect && !leaseNamespace) {
    try {
      leaseNamespace = readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
    } catch {
      usageError('--leader-election-namespace is required with --leader-elect outside a cluster');
    }
  }

  const settings: RunSettings = {
    policy: policyConfig(config),
    optOut: config.optOut,
    dryRun: (flags['dry-run'] as boolean | undefined) ?? boolEnv('DRY_RUN') ?? false,
    concurrency: config.concurrency,
    resyncPeriodMs: config.resyncPeriodSeconds * 1000,
    informer: { silenceTimeoutMs: config.watchSilenceSeconds * 1000 },
    backoff: { baseMs: config.backoff.baseMilliseconds, maxMs: config.backoff.maxSeconds * 1000 },
    rateLimit: config.rateLimit,
    drainTimeoutMs: config.gracefulShutdownSeconds * 1000,
  };

  const log = pino({ level });
  const registry = new Registry();
  registerProcessMetrics(registry);
  let client: KubeClient;
  try {
    client = new KubeClient(loadKubeConfig(kubeconfig), registerRestClientMetric(registry));
  } catch (err) {
    log.fatal({ err, kubeconfig }, 'cannot load the Kubernetes client configuration');
    process.exit(2);
  }

  const running = runController(client, settings, log, registry);
  const loop = new EventLoopWatch();
  let stopping = false;
  const servers: Serving[] = [];
  try {
    if (metricsBind !== 'off') {
      servers.push(await serve(metricsBind, { '/metrics': metricsRoute(registry) }));
      log.info({ address: servers.at(-1)?.address }, 'serving metrics');
    }
    if (probeBind !== 'off') {
      servers.push(
        await serve(probeBind, {
          '/healthz': probeRoute('healthz', { ping: () => undefined, eventloop: loop.check }),
          '/readyz': probeRoute('readyz', {
            'informer-sync': () => running.ready(),
            shutdown: () => (stopping ? 'shutting down' : undefined),
          }),
        }),
      );
      log.info({ address: servers.at(-1)?.address }, 'serving health probes');
    }
  } catch (err) {
    log.fatal({ err }, 'cannot serve metrics or health probes');
    process.exit(1);
  }

  let elector: LeaderElector | undefined;
  if (leaderElect && leaseNamespace) {
    const identity = `${hostname()}_${randomUUID()}`;
    const leading = registerLeaderMetric(registry, LEASE_NAME);
    const lease = { namespace: leaseNamespace, name: LEASE_NAME, identity };
    const le = config.leaderElection;
    elector = new LeaderElector(
      leaseLock(client, leaseNamespace, LEASE_NAME),
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
          running.lead();
        },
        stoppedLeading() {
          // Another replica may already be writing: stop at once, as controller-runtime does.
          leading(false);
          log.fatal({ lease }, 'leader election lost; exiting');
          process.exit(1);
        },
        newLeader: (holder) => log.info({ lease, holder }, 'another replica holds the lease; standing by'),
        attemptFailed: (err) => log.warn({ lease, err }, 'could not acquire or renew the lease'),
      },
    );
    void elector.run();
  } else {
    running.lead();
  }
  log.info(
    {
      dryRun: settings.dryRun,
      leaderElect,
      kubeconfig: kubeconfig ?? 'in-cluster',
      config: configPath ?? 'built-in defaults',
    },
    'controller started',
  );

  async function shutdown(signal: string) {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping: closing watches and draining the queue');
    await running.stop();
    // After the drain, so that the next leader never overlaps our last writes.
    if ((await elector?.stop()) === 'released') log.info('released the lease');
    await Promise.all(servers.map((s) => s.close()));
    loop.stop();
    await client.close();
    log.info('stopped');
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
