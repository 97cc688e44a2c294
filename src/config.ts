// Loads and validates the controller's configuration file (config/controller.yaml shows every
// default), and holds the tunables that are not configurable: the one home of defaults.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod/mini';
import { crossFieldProblems } from './configrules.ts';
import { fields } from './configschema.ts';
import { KUBE_APISERVER_POLICY } from './policy/presets.ts';
import { expand, type PolicyConfig, type PolicySettings } from './policy/profiles.ts';
import type { NetworkPolicySpec } from './policy/types.ts';

/** The configuration file's schema (also the Helm chart's values.schema.json `config`, generated from it). */
export const configSchema = fields.check(
  z.superRefine((c, ctx) => {
    for (const problem of crossFieldProblems(c)) ctx.addIssue({ code: 'custom', ...problem });
  }),
);

export type Config = z.output<typeof configSchema>;

/** Tunables fixed in code; runtime modules take them as required options. */
export const FIXED = {
  /** A failed list or watch is retried after 200 ms doubling to 30 s, with jitter. */
  watchBackoff: { baseMs: 200, maxMs: 30_000 },
  /** While watches back off, how often one probe asks whether the API server answers again. */
  recoveryProbeMs: 1_000,
  /** Two free repairs within a minute, then 1 s doubling up to 60 s between repairs. */
  fight: { windowMs: 60_000, freeRepairs: 2, baseDelayMs: 1_000, maxDelayMs: 60_000 },
  /** How long a write not seen back in the cache leaves its policy alone. */
  expectationTtlMs: 60_000,
  /** Events waiting to be sent (oldest dropped beyond), series remembered, time to send on stop. */
  events: { capacity: 1_000, remembered: 4_096, closeTimeoutMs: 2_000 },
  leaseName: 'namespace-isolation-controller',
} as const;

/** The configuration is invalid: one line per problem, each naming the field, the value and the fix. */
export class ConfigError extends Error {
  constructor(source: string, problems: string[]) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates a parsed document; `source` names it in errors. */
export function parseConfig(doc: unknown, source: string): Config {
  const result = configSchema.safeParse(doc ?? {}, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(source, describeIssues(result.error.issues));
}

/** One line per problem zod found: the field, what is wrong, the value. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const field = issue.path.length ? issue.path.join('.') : '(top level)';
    const value =
      'input' in issue && issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)})` : '';
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}: remove or correct ${issue.keys.length > 1 ? 'them' : 'it'}`
        : issue.code === 'invalid_key'
          ? `invalid name: ${issue.issues.map((i) => i.message).join('; ')}`
          : issue.message;
    return `${field}: ${message}${issue.code === 'unrecognized_keys' ? '' : value}`;
  });
}

export function loadConfig(path: string): Config {
  return readConfigFile(path).config;
}

/** A configuration file's text, and the configuration it says (the text is what a reload compares). */
export function readConfigFile(path: string): { path: string; text: string; config: Config } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  return { path, text, config: parseConfigText(text, path) };
}

/** Parses and validates the text of a configuration file. */
export function parseConfigText(text: string, path: string): Config {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid YAML: ${(err as Error).message}`]);
  }
  return parseConfig(doc, path);
}

/** What the configuration says about policies. */
export function policySettings(c: Config): PolicySettings {
  return {
    selectorLabel: c.selectorLabel,
    profiles: c.profiles,
    policies: c.policies,
    excludedNamespaces: c.excludedNamespaces,
    sanctioned: c.sanctioned,
    legacyAnnotation: c.legacyAnnotation,
    guardrails: c.guardrails,
    dns: c.dns,
  };
}

/** The policy configuration in force; `apiServer` is `allow-kube-apiserver` as the cluster has it. */
export function policyConfig(c: Config, apiServer?: NetworkPolicySpec): PolicyConfig {
  return expand(policySettings(c), apiServer);
}

/** Whether a profile puts `allow-kube-apiserver` in its namespaces. */
export const usesApiServer = (c: Config) =>
  Object.values(c.profiles).some((names) => names.includes(KUBE_APISERVER_POLICY));
