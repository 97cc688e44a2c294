// Each field of the configuration file on its own, as a zod schema: its type, range and default.
// The rules across fields are configrules.ts's; config.ts joins both and reads the file.
import en from 'zod/v4/locales/en.js';
import * as z from 'zod/mini';
import { parseCidr } from './policy/cidr.ts';
import { DNS_PRESETS, SANCTIONED_POLICY } from './policy/presets.ts';
import { defaultPolicySettings as defaults } from './policy/profiles.ts';
import { LABEL_KEY, LABEL_VALUE, templateProblem } from './policy/template.ts';
import { IMAGE } from './version.ts';

/** The two namespaces manifests/components/dataplane-probe makes. */
export const PROBE_NAMESPACES = {
  isolated: 'namespace-isolation-probe',
  other: 'namespace-isolation-probe-other',
};

// zod/mini, with English messages only: zod's full API and every locale cost 15 MB of memory and
// 35–45 ms of start-up, for one schema read once.
z.config(en());

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const dnsName = z
  .string()
  .check(
    z.maxLength(63),
    z.regex(
      DNS_LABEL,
      'must be a DNS label: lowercase letters, digits and "-", starting and ending alphanumeric',
    ),
  );
const labelValue = z.string().check(z.maxLength(63), z.regex(LABEL_VALUE, 'must be a valid label value'));
const profileName = labelValue.check(z.minLength(1));
const labelKey = z.string().check(z.regex(LABEL_KEY, 'must be a valid label key'));
// In a policy's selectors a value may read the namespace's name or labels (policy/template.ts).
const templatedValue = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = templateProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', input: value, message: problem });
  }),
);
const selector = z.strictObject({
  matchLabels: z.optional(z.record(labelKey, templatedValue)),
  matchExpressions: z.optional(
    z.array(
      z.strictObject({
        key: labelKey,
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.optional(z.array(templatedValue)),
      }),
    ),
  ),
});
const cidr = z
  .string()
  .check(z.refine((s) => parseCidr(s) !== undefined, 'must be a CIDR block, e.g. 10.0.0.0/8 or fd00::/8'));
const peer = z.strictObject({
  podSelector: z.optional(selector),
  namespaceSelector: z.optional(selector),
  ipBlock: z.optional(z.strictObject({ cidr, except: z.optional(z.array(cidr)) })),
});
const portNumber = z.int().check(z.gte(1), z.lte(65535));
const port = z.strictObject({
  protocol: z.optional(z.enum(['TCP', 'UDP', 'SCTP'])),
  port: z.optional(z.union([portNumber, z.string().check(z.regex(DNS_LABEL), z.maxLength(15))])),
  endPort: z.optional(portNumber),
});
const rules = {
  ingress: z.optional(
    z.array(z.strictObject({ from: z.optional(z.array(peer)), ports: z.optional(z.array(port)) })),
  ),
  egress: z.optional(
    z.array(z.strictObject({ to: z.optional(z.array(peer)), ports: z.optional(z.array(port)) })),
  ),
};
/** A NetworkPolicy's spec, as the API server would take it (check -f reads them from files too). */
export const spec = z.strictObject({
  podSelector: selector,
  policyTypes: z.optional(z.array(z.enum(['Ingress', 'Egress']))),
  ...rules,
});
/** A number within [min, max]; whole when `int`. */
const range = (min: number, max: number, int = false) =>
  (int ? z.int() : z.number()).check(z.gte(min), z.lte(max));
const positive = (max: number) => z.number().check(z.positive(), z.lte(max));

/** Each field of the configuration file, on its own. */
export const fields = z.strictObject({
  selectorLabel: z._default(labelKey, defaults.selectorLabel),
  profiles: z._default(
    z.record(profileName, z.array(dnsName).check(z.minLength(1, 'a profile needs at least one policy'))),
    defaults.profiles,
  ),
  policies: z._default(z.record(dnsName, spec), defaults.policies),
  dns: z._default(
    z.strictObject({
      preset: z._default(z.enum(DNS_PRESETS), defaults.dns.preset),
      nodeLocalAddress: z._default(
        z.string().check(
          z.regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'must be an IPv4 address, e.g. 169.254.20.10'),
          z.refine((a) => parseCidr(`${a}/32`) !== undefined, 'must be an IPv4 address, e.g. 169.254.20.10'),
        ),
        defaults.dns.nodeLocalAddress,
      ),
    }),
    defaults.dns,
  ),
  excludedNamespaces: z._default(z.array(dnsName), defaults.excludedNamespaces),
  sanctioned: z._default(
    z.record(
      profileName,
      z.strictObject({
        ...rules,
        // Openings for some pods only: each installed as allow-sanctioned-<name>, for its pods.
        pods: z.optional(
          z.record(
            z
              .string()
              .check(
                z.maxLength(63 - SANCTIONED_POLICY.length - 1),
                z.regex(
                  DNS_LABEL,
                  'must be a DNS label: lowercase letters, digits and "-", starting and ending alphanumeric',
                ),
              ),
            z.strictObject({ podSelector: selector, ...rules }),
          ),
        ),
      }),
    ),
    {},
  ),
  legacyAnnotation: z._default(
    z.strictObject({ enabled: z.boolean(), profile: z.string() }),
    defaults.legacyAnnotation,
  ),
  guardrails: z._default(
    z.strictObject({
      serviceAccount: z._default(
        z.strictObject({ namespace: dnsName, name: z.string().check(z.minLength(1), z.maxLength(253)) }),
        defaults.guardrails.serviceAccount,
      ),
      gatePolicies: z._default(z.record(profileName, dnsName), {}),
      maxExceptionHours: z._default(positive(24 * 366), defaults.guardrails.maxExceptionHours),
      tenantPolicies: z._default(z.record(profileName, z.enum(['deny', 'warn', 'audit', 'off'])), {}),
      denyNamedOpenings: z._default(z.record(profileName, z.boolean()), {}),
    }),
    defaults.guardrails,
  ),
  // The dataplane probe in the controller (controllers/dataplane): off when absent. Fractions of a
  // minute are allowed (tests); each run creates 4 Pods.
  probe: z.optional(
    z.strictObject({
      intervalMinutes: range(0.25, 1440),
      image: z._default(z.string().check(z.minLength(1)), IMAGE),
      namespaces: z._default(z.strictObject({ isolated: dnsName, other: dnsName }), PROBE_NAMESPACES),
    }),
  ),
  optOut: z._default(z.enum(['delete', 'orphan']), 'delete'),
  resyncPeriodSeconds: z._default(range(10, 86_400, true), 600),
  // The API server sends a bookmark on every watch about once a minute, so more than 60.
  watchSilenceSeconds: z._default(range(1, 3600), 90),
  // Initial lists as one watch stream (sendInitialEvents) where the API server offers it.
  streamingLists: z._default(z.boolean(), true),
  concurrency: z._default(range(1, 64, true), 4),
  // A changed configuration or new API server endpoints reach the namespaces at this pace.
  rollout: z._default(z.strictObject({ namespacesPerSecond: positive(10_000) }), {
    namespacesPerSecond: 100,
  }),
  // Below the pod's terminationGracePeriodSeconds (30 by default), which also covers releasing the lease.
  gracefulShutdownSeconds: z._default(range(1, 3600), 20),
  backoff: z._default(
    z.strictObject({ baseMilliseconds: range(1, 60_000, true), maxSeconds: range(1, 86_400) }),
    { baseMilliseconds: 5, maxSeconds: 1000 },
  ),
  rateLimit: z._default(z.strictObject({ qps: positive(10_000), burst: range(1, 100_000, true) }), {
    qps: 10,
    burst: 100,
  }),
  leaderElection: z._default(
    z.strictObject({
      // A Lease's duration is a whole number of seconds in the API.
      leaseDurationSeconds: range(1, 3600, true),
      renewDeadlineSeconds: positive(3600),
      retryPeriodSeconds: positive(3600),
    }),
    { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
  ),
});

/** The configuration, each field valid on its own (configrules.ts judges them together). */
export type ConfigFields = z.output<typeof fields>;
