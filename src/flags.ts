// Every command-line flag, once: its type, environment variable, default and help. The table
// produces the parser here, and the usage text and the README's flag table (help.ts).
import { parseArgs } from 'node:util';
import { IMAGE } from './version.ts';

export const COMMANDS = ['run', 'render', 'check', 'probe'] as const;
export type Command = (typeof COMMANDS)[number];

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Placeholder for the value in the usage text. */
  arg?: string;
  /** A one-letter alias, as kubectl has them (-o). */
  short?: string;
  /** The environment variable read when the flag is absent (a flag wins). */
  env?: string;
  default?: string;
  help: string;
  commands: readonly Command[];
}

export const FLAGS = {
  config: {
    type: 'string',
    arg: 'PATH',
    env: 'CONFIG',
    help: 'configuration file; built-in defaults (= config/controller.yaml) when absent',
    commands: ['run', 'render', 'check'],
  },
  kubeconfig: {
    type: 'string',
    arg: 'PATH',
    env: 'KUBECONFIG',
    help: 'kubeconfig (the variable may list files separated by ":"); in a pod, its ServiceAccount when absent',
    commands: ['run', 'render', 'check'],
  },
  context: {
    type: 'string',
    arg: 'NAME',
    help: "the kubeconfig's context to use (its current-context when absent), as kubectl's",
    commands: ['render', 'check'],
  },
  'metrics-bind-address': {
    type: 'string',
    arg: 'ADDR',
    env: 'METRICS_BIND_ADDRESS',
    default: ':8080',
    help: 'serve /metrics here; 0 to disable',
    commands: ['run'],
  },
  'health-probe-bind-address': {
    type: 'string',
    arg: 'ADDR',
    env: 'HEALTH_PROBE_BIND_ADDRESS',
    default: ':8081',
    help: 'serve /healthz and /readyz here; 0 to disable',
    commands: ['run'],
  },
  'leader-elect': {
    type: 'boolean',
    env: 'LEADER_ELECT',
    help: 'only the holder of a Lease reconciles',
    commands: ['run'],
  },
  'leader-election-namespace': {
    type: 'string',
    arg: 'NS',
    env: 'LEADER_ELECTION_NAMESPACE',
    help: "where the Lease lives; in a pod, the pod's namespace when absent",
    commands: ['run'],
  },
  'dry-run': {
    type: 'boolean',
    env: 'DRY_RUN',
    help: 'send writes with dryRun=All: report what would change, change nothing',
    commands: ['run'],
  },
  'log-level': {
    type: 'string',
    arg: 'LEVEL',
    env: 'LOG_LEVEL',
    default: 'info',
    help: 'trace, debug, info, warn or error',
    commands: ['run'],
  },
  namespace: {
    type: 'string',
    arg: 'NAME',
    short: 'n',
    help: 'render: the namespace to render for (required); check: only this namespace',
    commands: ['render', 'check'],
  },
  filename: {
    type: 'string',
    arg: 'PATH',
    short: 'f',
    help: 'judge manifests (a file, a directory, - for stdin) instead of a cluster',
    commands: ['check'],
  },
  all: {
    type: 'boolean',
    help: 'the isolation verdict (pass, warn, fail) of every managed namespace, with its reasons',
    commands: ['check'],
  },
  dns: {
    type: 'boolean',
    help: 'which DNS preset the cluster needs, and whether the configured one fits',
    commands: ['check'],
  },
  profile: {
    type: 'string',
    arg: 'P',
    default: 'strict',
    help: 'render: the profile to render; check --probe: the profile to test',
    commands: ['render', 'check'],
  },
  probe: {
    type: 'boolean',
    help: 'test on the wire whether the dataplane enforces --profile: two short-lived namespaces with probe Pods',
    commands: ['check'],
  },
  image: {
    type: 'string',
    arg: 'IMAGE',
    default: IMAGE,
    help: "check --probe: the probe Pods' image (air-gapped: your mirror's copy)",
    commands: ['check'],
  },
  output: {
    type: 'string',
    arg: 'FORMAT',
    short: 'o',
    default: 'table',
    help: 'check --all, --namespace, -f and --probe: table, json or yaml',
    commands: ['check'],
  },
  port: {
    type: 'string',
    arg: 'N',
    default: '8080',
    help: 'probe serve: the TCP and UDP port to echo on',
    commands: ['probe'],
  },
  udp: { type: 'boolean', help: 'probe connect: over UDP (TCP when absent)', commands: ['probe'] },
  http: {
    type: 'string',
    arg: 'PATH',
    help: 'probe connect: also GET this path and report the HTTP status',
    commands: ['probe'],
  },
  tcp: { type: 'boolean', help: 'probe resolve: over TCP (UDP when absent)', commands: ['probe'] },
  server: {
    type: 'string',
    arg: 'IP',
    help: "probe resolve: the DNS server to ask (resolv.conf's first when absent)",
    commands: ['probe'],
  },
  timeout: {
    type: 'string',
    arg: 'MS',
    default: '2000',
    help: 'probe connect and resolve: how long to wait for an answer',
    commands: ['probe'],
  },
  until: {
    type: 'string',
    arg: 'WHAT',
    help: 'probe connect: try every 10 ms until blocked (refused or silent) or through, and say when it flipped',
    commands: ['probe'],
  },
  trace: {
    type: 'boolean',
    help: 'probe connect: try every 10 ms for --within, printing each change of outcome and when',
    commands: ['probe'],
  },
  within: {
    type: 'string',
    arg: 'MS',
    default: '30000',
    help: 'probe connect --until, --trace: how long to keep trying',
    commands: ['probe'],
  },
  help: { type: 'boolean', help: 'print this text', commands: ['run', 'render', 'check', 'probe'] },
  version: { type: 'boolean', help: 'print the version', commands: ['run', 'render', 'check', 'probe'] },
} as const satisfies Record<string, FlagSpec>;

type Specs = typeof FLAGS;
type Value<S extends FlagSpec> = S extends { type: 'boolean' } ? boolean : string;
/** Parsed flags: a flag with a default always has a value. */
export type Flags = {
  [K in keyof Specs]: Specs[K] extends { default: string } ? string : Value<Specs[K]> | undefined;
};

/** The user got the command line wrong: printed with the usage, exit 2. */
export class UsageError extends Error {}

/** What `render` prints: policies for a namespace, or the admission guardrails. */
export type RenderTarget = 'policies' | 'guardrails';

export const PROBE_ACTIONS = ['serve', 'connect', 'resolve', 'expect'] as const;
/** `probe serve`, `probe connect HOST:PORT…`, `probe resolve NAME…`, `probe expect CHECKS` (check --probe's). */
export type Probe = { action: (typeof PROBE_ACTIONS)[number]; args: string[] };

/** The command and its flags; each flag falls back to its environment variable, then its default. */
export function parseFlags(
  args: string[],
  env: NodeJS.ProcessEnv,
): { command: Command; flags: Flags; target: RenderTarget; probe?: Probe } {
  const first = args[0];
  const command: Command = COMMANDS.includes(first as Command) ? (first as Command) : 'run';
  const argv = command === first ? args.slice(1) : args;
  const options = Object.fromEntries(
    Object.entries(FLAGS)
      .filter(([, spec]) => (spec.commands as readonly Command[]).includes(command))
      .map(([name, spec]) => [name, { type: spec.type, ...('short' in spec && { short: spec.short }) }]),
  );
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options,
      allowPositionals: command === 'render' || command === 'probe',
    }));
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`);
  }
  let probe: Probe | undefined;
  if (command === 'probe') {
    const [action, ...rest] = positionals;
    if (!PROBE_ACTIONS.includes(action as Probe['action']))
      throw new UsageError(
        `probe: want one of ${PROBE_ACTIONS.join(', ')} (got ${JSON.stringify(action ?? '')})`,
      );
    if (action === 'serve' ? rest.length > 0 : rest.length === 0)
      throw new UsageError(
        action === 'serve'
          ? 'probe serve takes no arguments'
          : `probe ${action}: name at least one ${action === 'connect' ? 'HOST:PORT' : action === 'expect' ? 'JSON array of checks' : 'NAME'}`,
      );
    probe = { action: action as Probe['action'], args: rest };
  } else if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'guardrails')) {
    throw new UsageError(
      `render: unexpected ${JSON.stringify(positionals.join(' '))}; did you mean render guardrails?`,
    );
  }
  const target: RenderTarget = positionals[0] === 'guardrails' ? 'guardrails' : 'policies';
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(FLAGS) as [string, FlagSpec][]) {
    if (!spec.commands.includes(command)) continue;
    const raw = 'env' in spec && spec.env ? env[spec.env] : undefined;
    const fromEnv =
      raw === undefined || raw === '' ? undefined : spec.type === 'boolean' ? bool(spec.env!, raw) : raw;
    flags[name] = values[name] ?? fromEnv ?? spec.default;
  }
  return { command, flags: flags as Flags, target, ...(probe && { probe }) };
}

function bool(name: string, value: string): boolean {
  if (['true', '1'].includes(value)) return true;
  if (['false', '0'].includes(value)) return false;
  throw new UsageError(`${name}: ${JSON.stringify(value)} is not true or false`);
}
