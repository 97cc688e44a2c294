// What `check --probe` asks of the wire, and its judgement. Two namespaces: one labelled with the
// profile under test ("isolated"), one not ("other"), each with an echo server and a client. What
// each flow should do is read from the policies the controller wrote in the isolated namespace
// (flows.ts), so the promise is the profile's own. The other namespace's client repeats the
// connections where nothing isolates (the controls): if one of those fails, a refusal proves
// nothing and the run could not judge.
import { allows, egressBeyondNamespace, type Endpoint } from '../policy/flows.ts';
import type { EndpointSliceView } from '../policy/presets.ts';
import type { Labels, NetworkPolicy } from '../policy/types.ts';
import type { Expectation, Observed } from './expect.ts';
import { PROBE_PORT } from './pods.ts';

export interface ProbeNamespace {
  name: string;
  labels: Labels;
  server: { ip: string; labels: Labels };
  clientLabels: Labels;
}

/** The `kubernetes` Service (what Pods dial) and the addresses behind it (what policies name). */
export interface ApiServer {
  service: string;
  endpoints: { ip: string; port: number }[];
}

/** The ready addresses of the API server's EndpointSlice, with its port. */
export function endpointsOf(slice: EndpointSliceView | undefined): ApiServer['endpoints'] {
  const port = slice?.ports?.[0]?.port ?? 443;
  return (slice?.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .flatMap((e) => (e.addresses ?? []).map((ip) => ({ ip, port })));
}

export interface ProbeSetup {
  profile: string;
  isolated: ProbeNamespace;
  other: ProbeNamespace;
  /** The policies now in the isolated namespace. */
  policies: NetworkPolicy[];
  /** Absent: the API server is not probed (its addresses cannot be read). */
  apiServer?: ApiServer | undefined;
  dnsName: string;
}

export interface Check extends Expectation {
  what: string;
  from: string;
  /** A connection where nothing isolates: it must work for the other checks to mean anything. */
  control: boolean;
}

const pod = (ns: ProbeNamespace, labels: Labels): Endpoint['pod'] => ({
  namespace: ns.name,
  namespaceLabels: ns.labels,
  labels,
});

/** The checks for each client: the isolated namespace's, and the other's (the controls). */
export function plan(s: ProbeSetup): { isolated: Check[]; other: Check[] } {
  const [iso, oth] = [s.isolated, s.other];
  const client = (ns: ProbeNamespace): Endpoint => ({ ip: '', pod: pod(ns, ns.clientLabels) });
  const server = (ns: ProbeNamespace): Endpoint => ({ ip: ns.server.ip, pod: pod(ns, ns.server.labels) });
  const flows = (from: ProbeNamespace, to: ProbeNamespace, id: string, what: string, control = false) =>
    (['tcp', 'udp'] as const).map((protocol): Check => ({
      id: `${id}-${protocol}`,
      what: `${what} (${protocol.toUpperCase()})`,
      from: from.name,
      kind: 'connect',
      target: `${to.server.ip}:${PROBE_PORT}`,
      protocol,
      control,
      want: allows(s.policies, {
        from: client(from),
        to: server(to),
        protocol: protocol === 'tcp' ? 'TCP' : 'UDP',
        port: PROBE_PORT,
      })
        ? 'through'
        : 'blocked',
    }));
  const dns = (from: ProbeNamespace, control: boolean): Check => ({
    id: control ? 'control-dns' : 'dns',
    what: `${control ? 'control: ' : ''}DNS: ${s.dnsName} resolves`,
    from: from.name,
    kind: 'resolve',
    target: s.dnsName,
    protocol: 'udp',
    control,
    want: egressBeyondNamespace(s.policies, client(from), 'UDP', 53) ? 'through' : 'blocked',
  });
  const api = (from: ProbeNamespace, control: boolean, a: ApiServer): Check => {
    const behind = a.endpoints[0];
    const to: Endpoint = behind ? { ip: behind.ip } : { ip: a.service.replace(/:\d+$/, '') };
    const port = behind?.port ?? Number(a.service.split(':').pop());
    return {
      id: control ? 'control-api-server' : 'api-server',
      what: `${control ? 'control: ' : ''}the API server (${a.service})`,
      from: from.name,
      kind: 'connect',
      target: a.service,
      protocol: 'tcp',
      control,
      want: allows(s.policies, { from: client(from), to, protocol: 'TCP', port }) ? 'through' : 'blocked',
    };
  };
  return {
    isolated: [
      ...flows(iso, iso, 'same-namespace', 'same namespace'),
      ...flows(iso, oth, 'isolated-to-other', 'isolated → other namespace'),
      dns(iso, false),
      ...(s.apiServer ? [api(iso, false, s.apiServer)] : []),
    ],
    other: [
      ...flows(oth, iso, 'other-to-isolated', 'other namespace → isolated'),
      ...flows(oth, oth, 'control-same-namespace', 'control: other → other namespace', true),
      dns(oth, true),
      ...(s.apiServer ? [api(oth, true, s.apiServer)] : []),
    ],
  };
}

export interface Row {
  id: string;
  what: string;
  from: string;
  want: 'allowed' | 'refused';
  got: string;
  ok: boolean;
  control: boolean;
}

export interface Judgement {
  /** 0 enforced; 1 not as the profile promises; 2 could not judge (a control failed, a result missing). */
  code: 0 | 1 | 2;
  rows: Row[];
  summary: string;
}

export function judge(profile: string, checks: readonly Check[], observed: readonly Observed[]): Judgement {
  const byId = new Map(observed.map((o) => [o.id, o]));
  const rows = checks.map((c): Row => {
    const o = byId.get(c.id);
    return {
      id: c.id,
      what: c.what,
      from: c.from,
      want: c.want === 'through' ? 'allowed' : 'refused',
      got: o ? o.got : 'no answer',
      ok: o?.matched ?? false,
      control: c.control,
    };
  });
  const missing = checks.filter((c) => !byId.has(c.id));
  const controls = rows.filter((r) => r.control && !r.ok);
  const failed = rows.filter((r) => !r.control && !r.ok);
  if (missing.length > 0)
    return {
      code: 2,
      rows,
      summary: `could not judge: no result for ${missing.map((c) => c.what).join('; ')} (the client Pod ended early: see its log)`,
    };
  if (controls.length > 0)
    return {
      code: 2,
      rows,
      summary:
        `could not judge: ${controls.map((r) => `${r.what} was ${r.want} but ${r.got}`).join('; ')}; ` +
        'where no policy applies the connection must work, or a refusal proves nothing (the network, a Service or the probe image is at fault)',
    };
  if (failed.length > 0)
    return {
      code: 1,
      rows,
      summary: `NOT ENFORCED as profile ${profile} promises: ${failed.map((r) => `${r.what}: ${r.want === 'refused' ? 'got through' : r.got}, but the profile ${r.want === 'refused' ? 'refuses' : 'allows'} it`).join('; ')}`,
    };
  return { code: 0, rows, summary: `enforced: all ${rows.length} checks of profile ${profile} as promised` };
}

/** The table: one line per check. */
export function table(j: Judgement): string {
  const head = ['CHECK', 'FROM', 'EXPECTED', 'SEEN', 'RESULT'];
  const lines = j.rows.map((r) => [r.what, r.from, r.want, r.got, r.ok ? 'ok' : 'FAILED']);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...lines.map(fmt), j.summary].join('\n') + '\n';
}
