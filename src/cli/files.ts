// `check -f DIR|FILE|-`: the isolation verdicts of manifests before they are merged, without a
// cluster. Every Namespace in the files that carries the selector label is judged as the
// compliance controller will judge it: the profile's policies taken as the controller will write
// them, the tenants' policies in the files added, pass/warn/fail. A copy of one of the profile's
// policies in the files is compared with what the controller writes: an edited copy is a fight.
// What only the cluster knows is named, never guessed: the API server's addresses, and namespaces
// that are not in the files (selectors are judged against those that are).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describeIssues } from '../config.ts';
import { spec } from '../configschema.ts';
import { namespaceView, type NamespaceObject } from '../kube/objects.ts';
import { driftOf } from '../policy/compare.ts';
import { type Assessment, assess, type Result } from '../policy/compliance.ts';
import { renderProfile, select } from '../policy/desired.ts';
import { exceptionOf } from '../policy/exceptions.ts';
import { isManaged } from '../policy/labels.ts';
import { KUBE_APISERVER_POLICY } from '../policy/presets.ts';
import type { PolicyConfig } from '../policy/profiles.ts';
import { NAME_LABEL, namespaceLookup } from '../policy/selectors.ts';
import type { NetworkPolicy } from '../policy/types.ts';
import { patch } from './index.ts';
import type { PolicyChange } from './schema.ts';

const MANIFEST = new Set(['.yaml', '.yml', '.json']);

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  items?: Manifest[];
}

export interface FileVerdicts {
  assessments: Assessment[];
  /** What the files cannot say, and labels that name no profile: one line each. */
  notes: string[];
  /** Namespaces whose verdict is fail, and labels naming no profile. */
  failing: number;
  /** Per namespace, the files' edited copies of our policies: what the controller would write over them. */
  changes: Map<string, PolicyChange[]>;
}

/** Every object in the files (directories recursively, `-` for `stdin`), Lists unpacked. */
export function readManifests(paths: readonly string[], stdin: () => string): Manifest[] {
  const texts: [string, string][] = [];
  const walk = (path: string) => {
    if (path === '-') return void texts.push(['stdin', stdin()]);
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        const child = join(path, entry);
        if (statSync(child).isDirectory() || MANIFEST.has(extname(entry))) walk(child);
      }
    } else texts.push([path, readFileSync(path, 'utf8')]);
  };
  for (const path of paths) walk(path);
  const unpack = (m: Manifest): Manifest[] =>
    m.kind?.endsWith('List') && Array.isArray(m.items) ? m.items.flatMap(unpack) : [m];
  const problems: string[] = [];
  const objects = texts.flatMap(([path, text]) =>
    parseAllDocuments(text).flatMap((doc) => {
      if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]!.message}`);
      const value = doc.toJS() as Manifest | null;
      const found = value && typeof value === 'object' ? unpack(value) : [];
      problems.push(...found.flatMap((o) => refused(path, o)));
      return found;
    }),
  );
  // Nothing is judged from files that hold a policy the API server would refuse.
  if (problems.length) throw new Error(problems.join('\n'));
  return objects;
}

/** Why the API server would refuse `o`, a NetworkPolicy: one line per problem, naming the field. */
function refused(path: string, o: Manifest & { spec?: unknown }): string[] {
  if (o.kind !== 'NetworkPolicy') return [];
  const name = `NetworkPolicy ${o.metadata?.namespace ?? '(no namespace)'}/${o.metadata?.name ?? '(no name)'}`;
  if (!o.metadata?.name) return [`${path}: ${name}: metadata.name is required`];
  const result = spec.safeParse(o.spec ?? {}, { reportInput: true });
  return result.success ? [] : describeIssues(result.error.issues).map((p) => `${path}: ${name}: spec.${p}`);
}

export function judgeFiles(objects: readonly Manifest[], config: PolicyConfig, now: number): FileVerdicts {
  // As the API server stores them: every namespace labelled with its name.
  const namespaces = (
    objects.filter((o) => o.kind === 'Namespace' && o.metadata?.name) as NamespaceObject[]
  ).map((n) => ({
    ...n,
    metadata: { ...n.metadata, labels: { ...n.metadata.labels, [NAME_LABEL]: n.metadata.name } },
  }));
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata?.name) as NetworkPolicy[];
  const lookup = namespaceLookup(
    (name) => namespaces.find((n) => n.metadata.name === name),
    () => namespaces,
  );
  const notes: string[] = [];
  const assessments: Assessment[] = [];
  const changes = new Map<string, PolicyChange[]>();
  let failing = 0;
  const usesApiServer = new Set<string>();
  for (const ns of [...namespaces].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const view = namespaceView(ns);
    const selection = select(view, config);
    if (selection.kind === 'unknown-profile') {
      notes.push(
        `namespace ${view.name}: label ${config.selectorLabel}=${selection.value} names no profile (defined: ${Object.keys(config.profiles).join(', ')}); the controller would leave it open`,
      );
      failing++;
    }
    if (selection.kind !== 'manage') continue;
    const { profile } = selection;
    const inNamespace = policies.filter((p) => (p.metadata.namespace ?? '') === view.name);
    const { policies: desired } = renderProfile(view, profile, config);
    const ours = new Set(config.profiles[profile]);
    const tenants = inNamespace.filter((p) => !ours.has(p.metadata.name) && !isManaged(p.metadata.labels));
    const a = assess(
      {
        namespace: view.name,
        labels: view.labels,
        profile,
        policies: [...desired, ...tenants],
        failed: new Map(),
        exception: exceptionOf(view, now, config.guardrails.maxExceptionHours),
        lookup,
      },
      config,
    );
    // A copy of one of ours in the files: the controller writes its own over it.
    for (const copy of inNamespace.filter((p) => ours.has(p.metadata.name))) {
      const want = desired.find((d) => d.metadata.name === copy.metadata.name);
      const labelled = { ...copy, metadata: { ...copy.metadata, labels: want?.metadata.labels } };
      const drift = want && driftOf(want, labelled);
      if (!want || !drift) continue;
      const change = {
        kind: 'apply',
        policy: want.metadata.name,
        drift,
        desired: want,
        observed: labelled,
      } as const;
      changes.set(view.name, [
        ...(changes.get(view.name) ?? []),
        { policy: want.metadata.name, change: 'update', diff: patch(change, 'files') },
      ]);
      const edited: Result = {
        policy: copy.metadata.name,
        ours: true,
        result: 'warn',
        message:
          'the copy in the files differs from what the controller writes: it will repair it, a fight with your GitOps tool (run render again)',
        openings: [],
      };
      a.results.push(edited);
      if (a.verdict === 'pass') a.verdict = 'warn';
    }
    if (ours.has(KUBE_APISERVER_POLICY)) usesApiServer.add(profile);
    if (a.verdict === 'fail') failing++;
    assessments.push(a);
  }
  for (const p of policies) {
    const ns = p.metadata.namespace;
    if (ns === undefined)
      notes.push(
        `NetworkPolicy ${p.metadata.name}: no metadata.namespace; judged nowhere (kustomize's namespace: sets it)`,
      );
  }
  for (const profile of usesApiServer)
    notes.push(
      `profile ${profile}: ${KUBE_APISERVER_POLICY}'s peers are the cluster's API server addresses, not in the files; judged as allowing nothing`,
    );
  if (assessments.some((a) => a.namespaceSelectors.length))
    notes.push(
      `namespace selectors judged against the ${namespaces.length} namespaces in the files; the cluster may hold more`,
    );
  return { assessments, notes, failing, changes };
}
