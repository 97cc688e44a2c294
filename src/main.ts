#!/usr/bin/env node
// Entry point: flags → logger → client → controller; SIGTERM/SIGINT stop it in reverse order.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { type Config, ConfigError, loadConfig, parseConfig, policyConfig } from './config.ts';
import { runController, type RunSettings } from './controller/manager.ts';
import { KubeClient, loadKubeConfig } from './kube/client.ts';

const USAGE = `usage: namespace-isolation-controller [--config PATH] [--kubeconfig PATH] [--dry-run] [--log-level LEVEL]

  --config PATH       configuration file (env CONFIG); built-in defaults, as in config/controller.yaml, when absent
  --kubeconfig PATH   kubeconfig to use (env KUBECONFIG); in-cluster ServiceAccount when absent
  --dry-run           send every write with dryRun=All: report what would change, change nothing
  --log-level LEVEL   trace, debug, info (default), warn, error (env LOG_LEVEL)`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

let flags;
try {
  flags = parseArgs({
    options: {
      config: { type: 'string' },
      kubeconfig: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'log-level': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  }).values;
} catch (err) {
  fail((err as Error).message);
}
if (flags.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const level = flags['log-level'] ?? process.env.LOG_LEVEL ?? 'info';
if (!LEVELS.includes(level)) fail(`--log-level: ${JSON.stringify(level)} is not one of ${LEVELS.join(', ')}`);

const configPath = flags.config ?? process.env.CONFIG;
let config: Config;
try {
  config = configPath ? loadConfig(configPath) : parseConfig({}, 'built-in defaults');
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

const settings: RunSettings = {
  policy: policyConfig(config),
  optOut: config.optOut,
  dryRun: flags['dry-run'],
  concurrency: config.concurrency,
  resyncPeriodMs: config.resyncPeriodSeconds * 1000,
  backoff: { baseMs: config.backoff.baseMilliseconds, maxMs: config.backoff.maxSeconds * 1000 },
  rateLimit: config.rateLimit,
  drainTimeoutMs: 20_000,
};

const log = pino({ level });
const kubeconfig = flags.kubeconfig ?? process.env.KUBECONFIG;
let client: KubeClient;
try {
  client = new KubeClient(loadKubeConfig(kubeconfig));
} catch (err) {
  log.fatal({ err, kubeconfig }, 'cannot load the Kubernetes client configuration');
  process.exit(2);
}

const running = runController(client, settings, log);
log.info(
  {
    dryRun: settings.dryRun,
    kubeconfig: kubeconfig ?? 'in-cluster',
    config: configPath ?? 'built-in defaults',
  },
  'controller started',
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping: closing watches and draining the queue');
  await running.stop();
  await client.close();
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
