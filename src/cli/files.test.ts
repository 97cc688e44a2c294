import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { render } from './index.ts';
import { defaultPolicyConfig as config } from '../policy/profiles.ts';
import { judgeFiles, readManifests } from './files.ts';
import { isolationVerdicts } from './schema.ts';
import { jsonReport } from './verdicts.ts';

const ns = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});
const policy = (namespace: string, name: string, spec: object) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});
const verdicts = (objects: object[]) => judgeFiles(objects, config, Date.parse('2026-12-03T00:00:00Z'));

describe('check -f', () => {
  it('reads files and directories recursively, YAML streams, Lists and stdin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nic-files-'));
    mkdirSync(join(dir, 'base'));
    writeFileSync(
      join(dir, 'a.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# empty\n',
    );
    writeFileSync(
      join(dir, 'base', 'b.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [ns('b', {}), ns('c', {})] }),
    );
    writeFileSync(join(dir, 'README.md'), 'not a manifest');
    const names = (o: { metadata?: { name?: string } }[]) => o.map((x) => x.metadata?.name);
    try {
      expect(names(readManifests([dir], () => ''))).toEqual(['a', 'b', 'c']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(names(readManifests(['-'], () => 'kind: Namespace\nmetadata: {name: d}\n'))).toEqual(['d']);
    expect(() => readManifests(['-'], () => 'a: [\n'), 'names where it failed').toThrow(/^stdin: /);
  });

  it('judges nothing from files holding a policy the API server would refuse, naming each field', () => {
    const bad =
      'kind: NetworkPolicy\nmetadata: {name: bad, namespace: a}\nspec: {podSelector: {}, ingress: [{ports: [{port: 70000}], form: []}]}\n';
    expect(() => readManifests(['-'], () => bad)).toThrow(
      [
        'stdin: NetworkPolicy a/bad: spec.ingress.0.ports.0.port: Too big: expected number to be <=65535 (got 70000)',
        'stdin: NetworkPolicy a/bad: spec.ingress.0: unknown field form: remove or correct it',
      ].join('\n'),
    );
  });

  it("judges each labelled namespace with the profile's policies as the controller writes them and the tenants' in the files", () => {
    const found = verdicts([
      ns('team-a', { isolation: 'strict' }),
      ns('team-b', { isolation: 'strict' }),
      ns('plain', {}),
      policy('team-a', 'allow-all', { podSelector: {}, ingress: [{}] }),
      policy('team-b', 'from-a', {
        podSelector: {},
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'team-a' } } }] },
        ],
      }),
    ]);
    expect(found.assessments.map((a) => `${a.namespace} ${a.verdict}`)).toEqual([
      'team-a fail',
      'team-b warn',
    ]);
    expect(found.failing).toBe(1);
    // Read as the API server labels namespaces: by their name too.
    expect(found.assessments[1]!.results.at(-1)!.message).toBe(
      'opens ingress to all pods from namespace team-a on all ports',
    );
    expect(found.notes).toEqual([
      'namespace selectors judged against the 3 namespaces in the files; the cluster may hold more',
    ]);
  });

  it("takes render's output as it is, reports an edited copy, and a label that names no profile", () => {
    const copies = render(config, 'team-a', 'strict')
      .split('---\n')
      .filter((d) => d.trim());
    const rendered = copies.flatMap((text) => readManifests(['-'], () => text));
    expect(verdicts([ns('team-a', { isolation: 'strict' }), ...rendered]).assessments[0]!.verdict).toBe(
      'pass',
    );
    const edited = verdicts([
      ns('team-a', { isolation: 'strict' }),
      ns('team-c', { isolation: 'Strict' }),
      policy('team-a', 'default-deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
    ]);
    expect(edited.assessments[0]!.verdict).toBe('warn');
    expect(edited.assessments[0]!.results.at(-1)).toMatchObject({
      policy: 'default-deny-all',
      result: 'warn',
    });
    expect(edited.failing).toBe(1);
    expect(edited.notes[0]).toMatch(/^namespace team-c: label isolation=Strict names no profile/);
    // -o json: the documented schema, the edited copy as a diff from the files' to the controller's.
    const doc = isolationVerdicts.parse(
      jsonReport(edited.assessments, { source: 'files', changes: edited.changes, notes: edited.notes }),
    );
    const [change, ...more] = doc.namespaces[0]!.changes;
    expect([change?.policy, change?.change, more]).toEqual(['default-deny-all', 'update', []]);
    expect(change!.diff).toContain('+++ controller/team-a/default-deny-all');
    expect(change!.diff).toContain('+    - Egress');
    expect(doc.counts).toEqual({ pass: 0, warn: 1, fail: 0 });
  });
});
