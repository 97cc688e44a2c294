// The usage text (`--help`) and the README's flag table, both from the flag table (flags.ts).
import { FLAGS, type FlagSpec } from './flags.ts';

const synopsis = (spec: FlagSpec, name: string) =>
  `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.arg ? ` ${spec.arg}` : ''}`;

export function usage(): string {
  const lines = [
    'usage: namespace-isolation-controller [run] [flags]       run the controller',
    '       namespace-isolation-controller render --namespace NAME [--profile P] [--config PATH] [--kubeconfig PATH]',
    '       namespace-isolation-controller render guardrails [--config PATH]',
    '       namespace-isolation-controller check [--namespace NAME [-o table|json|yaml]] [--config PATH] [--kubeconfig PATH]',
    '       namespace-isolation-controller check --all [-o table|json|yaml] [--config PATH] [--kubeconfig PATH]',
    '       namespace-isolation-controller check --dns [--config PATH] [--kubeconfig PATH]',
    '       namespace-isolation-controller check --probe [--profile P] [--image IMAGE] [-o table|json|yaml] [--config PATH] [--kubeconfig PATH]',
    '       namespace-isolation-controller check -f FILE|DIR|- [-o table|json|yaml] [--config PATH]     no cluster: manifests before merge',
    '       namespace-isolation-controller version',
    '       namespace-isolation-controller completion bash|zsh          a script: source <(namespace-isolation-controller completion bash)',
    '       namespace-isolation-controller probe serve [--port N]',
    '       namespace-isolation-controller probe connect HOST:PORT... [--udp | --http PATH] [--timeout MS] [--until blocked|through | --trace] [--within MS]',
    '       namespace-isolation-controller probe resolve NAME... [--tcp] [--server IP] [--timeout MS]',
    '',
    'flags (each also read from the environment variable in brackets; a flag wins):',
  ];
  for (const [name, spec] of Object.entries(FLAGS) as [string, FlagSpec][]) {
    const env = spec.env ? ` [${spec.env}]` : '';
    const def = spec.default ? ` (default ${spec.default})` : '';
    lines.push(`  ${synopsis(spec, name).padEnd(36)} ${spec.help}${env}${def}; ${spec.commands.join(', ')}`);
  }
  lines.push(
    '',
    'render prints the policies a profile puts in a namespace, exactly as applied; render guardrails prints',
    'the admission policies, bindings and ClusterRole that keep selected namespaces isolated (apply them as admin).',
    'check compares the live cluster with the configuration: exit 0 when every selected namespace is in',
    'compliance, 1 when any is not (the differences are printed), 2 on a usage or configuration error.',
    'check --namespace also says what its policies open beyond its profile; check --all prints the verdict of',
    'every managed namespace: exit 1 when any fails (opened to everyone, every namespace or every address, or',
    "a policy of its profile missing or failing to apply). check --dns reads the cluster's DNS Services,",
    'DaemonSets and NodeLocal DNSCache ConfigMap and says which dns.preset fits: exit 1 when the configured one does not.',
    'check --probe makes two namespaces (one labelled with --profile, one not) with probe Pods and tries each flow the',
    'profile promises to allow or refuse: exit 0 enforced, 1 not (each failed check named), 2 could not run (why).',
    'probe runs inside Pods to see what the network lets through: serve echoes TCP and UDP; connect and resolve print',
    'one JSON line per attempt and exit 0 when every one got through, 1 when any did not; expect runs the JSON list of',
    'checks that check --probe gives its client Pods and prints one line per check.',
  );
  return lines.join('\n');
}

/** The README's flag table: the probe's own flags (it runs inside Pods) are in its --help only. */
export function flagTable(): string {
  const forPeople = (Object.entries(FLAGS) as [string, FlagSpec][]).filter(([, spec]) =>
    spec.commands.some((c) => c !== 'probe'),
  );
  const rows = forPeople.map(([name, spec]) => {
    const env = spec.env ? `\`${spec.env}\`` : '';
    const def = spec.default ? `\`${spec.default}\`` : '';
    return `| \`${synopsis(spec, name)}\` | ${env} | ${def} | ${spec.commands.join(', ')} | ${spec.help} |`;
  });
  return [
    '| flag | environment | default | commands | what it does |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
