#!/usr/bin/env node
// The command line: flags → configuration → `run` (start.ts), `render`, `check` or `probe` (cli/).
// Exit codes: 0 done, 1 failure (or the lease lost), 2 a usage or configuration error.
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { pino } from 'pino';
import { check, checkGuardrails, render, renderGuardrails } from './cli/index.ts';
import { CannotProbe, probeDataplane } from './cli/dataplane.ts';
import { checkDns } from './cli/dns.ts';
import { probe } from './cli/probe.ts';
import { livePolicyConfig, readCluster, renderPolicyConfig } from './cli/live.ts';
import { judgeFiles, readManifests } from './cli/files.ts';
import { jsonReport, table as verdictTable, verdicts } from './cli/verdicts.ts';
import type { PolicyConfig } from './policy/profiles.ts';
import { table } from './probe/checks.ts';
import { type Config, ConfigError, parseConfig, policyConfig, readConfigFile } from './config.ts';
import { type Flags, parseFlags, UsageError } from './flags.ts';
import { complete, completionScript, SHELLS } from './completion.ts';
import { usage } from './help.ts';
import { KubeClient, KubeconfigError, loadKubeConfig } from './kube/client.ts';
import { SERVICE_ACCOUNT_DIR } from './kube/kubeconfig.ts';
import { start, type StartOptions } from './start.ts';
import { VERSION_LINE } from './version.ts';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

function fail(message: string, withUsage = false): never {
  process.stderr.write(`${message}\n${withUsage ? `\n${usage()}\n` : ''}`);
  process.exit(2);
}

/** Built as `kubectl-isolation` (scripts/build-cli.ts): a kubectl plugin, which never runs the controller by default. */
const PLUGIN = process.env.NIC_CLI_NAME === 'kubectl-isolation';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === 'version' && args.length === 1) {
    process.stdout.write(VERSION_LINE);
    return;
  }
  if (args[0] === '__complete') {
    process.stdout.write(complete(args.slice(1)));
    return;
  }
  if (args[0] === 'completion') {
    const shell = SHELLS.find((s) => s === args[1]);
    if (!shell || args.length !== 2) throw new UsageError('completion: want bash or zsh');
    process.stdout.write(
      completionScript(shell, PLUGIN ? 'kubectl-isolation' : 'namespace-isolation-controller'),
    );
    return;
  }
  if (PLUGIN && args.length === 0) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const parsed = parseFlags(args, process.env);
  const { command, flags, target } = parsed;
  if (flags.help) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (flags.version) {
    process.stdout.write(VERSION_LINE);
    return;
  }
  if (parsed.probe) {
    process.exitCode = await probe(parsed.probe, flags);
    return;
  }
  const file = flags.config ? readConfigFile(flags.config) : undefined;
  const config = file?.config ?? parseConfig({}, 'built-in defaults');
  if (command === 'render' && target === 'guardrails') {
    process.stdout.write(renderGuardrails(policyConfig(config)));
  } else if (command === 'render') {
    if (!flags.namespace) throw new UsageError('render: --namespace is required');
    // A profile with allow-kube-apiserver reads the API server's addresses from the cluster.
    const policy = await renderPolicyConfig(config, flags.profile, flags.kubeconfig, flags.context).catch(
      (err: unknown) => {
        if (err instanceof UsageError) throw err;
        fail(`render: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    process.stdout.write(render(policy, flags.namespace, flags.profile));
  } else if (command === 'check' && flags.filename !== undefined) {
    process.exitCode = checkFiles(flags.filename, policyConfig(config), flags);
  } else if (command === 'check') {
    let client: KubeClient | undefined;
    try {
      client = new KubeClient(loadKubeConfig(flags.kubeconfig, flags.context));
      if ([flags.all, flags.namespace, flags.dns, flags.probe].filter(Boolean).length > 1)
        throw new UsageError('check: --all, --dns, --probe and --namespace exclude each other');
      checkOutput(flags);
      if (flags.output !== 'table' && !flags.probe && !flags.all && !flags.namespace)
        throw new UsageError(`--output ${flags.output}: with check --all, --namespace, -f or --probe`);
      if (flags.probe) {
        process.exitCode = await checkProbe(client, await livePolicyConfig(client, config), flags);
        return;
      }
      if (flags.dns) {
        const found = await checkDns(client, config);
        process.stdout.write(found.report);
        process.exitCode = found.fits ? 0 : 1;
        return;
      }
      const policy = await livePolicyConfig(client, config);
      if (flags.output !== 'table') {
        // One document: every namespace's verdict and what the controller would change there.
        const read = await readCluster(client, flags.namespace);
        const planned = check(read, policy, config.optOut, flags.namespace);
        const found = await verdicts(client, read, policy, flags.namespace);
        const { changes, unmanaged } = planned;
        printDocument(
          jsonReport(found.assessments, {
            source: 'cluster',
            dataplane: found.dataplane,
            changes,
            unmanaged,
          }),
          flags.output,
        );
        const changing = flags.namespace !== undefined && planned.outOfCompliance > 0;
        process.exitCode =
          found.failing > 0 || found.dataplane?.result === 'not-enforced' || changing ? 1 : 0;
        return;
      }
      if (flags.all) {
        const found = await verdicts(client, await readCluster(client), policy);
        process.stdout.write(found.report);
        // Not enforced on the wire: no namespace is isolated, whatever its objects say.
        process.exitCode = found.failing > 0 || found.dataplane?.result === 'not-enforced' ? 1 : 0;
        return;
      }
      const read = await readCluster(client, flags.namespace);
      const result = check(read, policy, config.optOut, flags.namespace);
      process.stdout.write(result.report);
      // Cluster-wide, so not for one namespace; what is open, for one namespace only.
      const guards = flags.namespace ? undefined : await checkGuardrails(client, policy);
      if (guards) process.stdout.write(guards.report);
      const open = flags.namespace ? await verdicts(client, read, policy, flags.namespace) : undefined;
      if (open) process.stdout.write(open.report);
      process.exitCode =
        result.outOfCompliance > 0 ||
        (guards?.problems ?? 0) > 0 ||
        (open?.failing ?? 0) > 0 ||
        open?.dataplane?.result === 'not-enforced'
          ? 1
          : 0;
    } catch (err) {
      fail(`check: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await client?.close();
    }
  } else {
    await run(flags, config, file);
  }
}

/** check's -o: table, json or yaml. */
function checkOutput(flags: Flags): void {
  if (!['table', 'json', 'yaml'].includes(flags.output))
    throw new UsageError(`--output: ${JSON.stringify(flags.output)}: want table, json or yaml`);
}

/** A document as -o json or -o yaml prints it. */
function printDocument(document: unknown, output: string): void {
  process.stdout.write(
    output === 'json'
      ? `${JSON.stringify(document, null, 2)}\n`
      : stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 }),
  );
}

/** check -f: the verdicts of the manifests, no cluster; exit 1 on a fail. */
function checkFiles(path: string, policy: PolicyConfig, flags: Flags): number {
  if (flags.all || flags.namespace || flags.dns || flags.probe)
    throw new UsageError('check: -f judges files; --all, --dns, --probe and --namespace are for a cluster');
  checkOutput(flags);
  let found: ReturnType<typeof judgeFiles>;
  try {
    found = judgeFiles(
      readManifests([path], () => readFileSync(0, 'utf8')),
      policy,
      Date.now(),
    );
  } catch (err) {
    fail(`check -f: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (flags.output === 'table')
    process.stdout.write(
      `${verdictTable(found.assessments)}${found.notes.map((n) => `note: ${n}\n`).join('')}`,
    );
  else
    printDocument(
      jsonReport(found.assessments, { source: 'files', changes: found.changes, notes: found.notes }),
      flags.output,
    );
  return found.failing > 0 ? 1 : 0;
}

/** check --probe: the table or JSON on stdout, progress on stderr; Ctrl-C deletes what it made. */
async function checkProbe(client: KubeClient, policy: PolicyConfig, flags: Flags): Promise<number> {
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, interrupt);
  try {
    const found = await probeDataplane(client, policy, {
      profile: flags.profile,
      image: flags.image,
      signal: stop.signal,
      log: (line) => process.stderr.write(`check --probe: ${line}\n`),
    });
    const { code, summary, rows: checks } = found;
    if (flags.output === 'table') process.stdout.write(table(found));
    else
      printDocument(
        { profile: flags.profile, enforced: code === 0, exitCode: code, summary, checks },
        flags.output,
      );
    return code;
  } catch (err) {
    if (!(err instanceof CannotProbe)) throw err;
    process.stderr.write(`check --probe: could not run: ${err.message}\n`);
    return stop.signal.aborted ? 130 : 2;
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, interrupt);
  }
}

async function run(flags: Flags, config: Config, file: StartOptions['configFile']): Promise<void> {
  if (!LEVELS.includes(flags['log-level']))
    throw new UsageError(
      `--log-level: ${JSON.stringify(flags['log-level'])} is not one of ${LEVELS.join(', ')}`,
    );
  let leaseNamespace = flags['leader-election-namespace'];
  if (flags['leader-elect'] && !leaseNamespace) {
    try {
      leaseNamespace = readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim();
    } catch {
      throw new UsageError('--leader-election-namespace is required with --leader-elect outside a cluster');
    }
  }
  // Written asynchronously, so that a slow reader of stdout does not hold the event loop, and in
  // batches of 4 KB or every 100 ms, as klog buffers (every 5 s): on a busy machine one write per
  // line cost 17% of the controller's CPU at a 5,000-namespace cold start (docs/performance.md).
  const out = pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 100 });
  const log = pino({ level: flags['log-level'] }, out);
  // Exits once every line is out. pino's own exit hook writes what is queued synchronously while
  // the line being written asynchronously is still under way, so that line came out after the
  // later ones, or not at all ("stopped" before "released the lease" in CI). A stdout nobody reads
  // does not hold the exit for more than 2 s.
  let exiting = false;
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
    setTimeout(() => process.exit(code), 2000).unref();
    out.once('close', () => process.exit(code));
    out.end();
  };
  const running = await start({
    config,
    configFile: file,
    log,
    kubeconfig: flags.kubeconfig,
    dryRun: flags['dry-run'] ?? false,
    metricsBindAddress: flags['metrics-bind-address'],
    healthProbeBindAddress: flags['health-probe-bind-address'],
    leaderElectionNamespace: flags['leader-elect'] ? leaseNamespace : undefined,
    onLeaseLost: () => exit(1),
  });
  log.info(
    { kubeconfig: flags.kubeconfig ?? 'in-cluster', config: flags.config ?? 'built-in defaults' },
    'configured',
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'signal received');
    await running.stop();
    exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

// No top-level await: the single executable's bundle is CommonJS.
main().catch((err: unknown) => {
  if (err instanceof UsageError) fail(err.message, true);
  if (err instanceof ConfigError || err instanceof KubeconfigError) fail(err.message);
  const where = err instanceof Error && 'address' in err ? ' (metrics or probe address in use?)' : '';
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}${where}\n`);
  process.exit(1);
});
