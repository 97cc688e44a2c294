import { describe, expect, it } from 'vitest';
import { type DnsFacts, dnsFit } from './dnsfit.ts';

const none: DnsFacts = { openshiftDns: false, nodeLocalDns: false, nodeLocalAddresses: [], gke: false };
const kubeDns = { selector: { 'k8s-app': 'kube-dns' }, ready: true };
const settings = (preset: Parameters<typeof dnsFit>[1]['preset']) => ({
  preset,
  nodeLocalAddress: '169.254.20.10',
});

describe('dnsFit', () => {
  it.each([
    [{ ...none, kubeDns }, 'kube-dns'],
    [{ ...none, kubeDns, openshiftDns: true }, 'openshift'],
    [
      { ...none, kubeDns, nodeLocalDns: true, nodeLocalAddresses: ['169.254.20.10', '10.96.0.10'] },
      'node-local-dns',
    ],
    [{ ...none, kubeDns: { ...kubeDns, ready: false }, gke: true }, 'gke-cloud-dns'],
    [{ ...none, kubeDns, gke: true }, 'kube-dns'],
  ] as const)('%j needs %s', (facts, preset) => {
    expect(dnsFit(facts, settings(preset))).toMatchObject({ recommended: preset, fits: true, problems: [] });
    expect(dnsFit(facts, settings(preset === 'kube-dns' ? 'openshift' : 'kube-dns')).fits).toBe(false);
  });

  it('says what does not fit, and why', () => {
    expect(dnsFit({ ...none, kubeDns, openshiftDns: true }, settings('kube-dns')).problems).toEqual([
      'dns.preset is kube-dns, but this cluster needs openshift',
    ]);
    expect(
      dnsFit(
        { ...none, kubeDns, nodeLocalDns: true, nodeLocalAddresses: ['169.254.25.10'] },
        settings('node-local-dns'),
      ),
    ).toMatchObject({
      nodeLocalAddress: '169.254.25.10',
      problems: ['NodeLocal DNSCache binds 169.254.25.10, but dns.nodeLocalAddress is 169.254.20.10'],
    });
    expect(
      dnsFit({ ...none, kubeDns: { selector: { app: 'coredns' }, ready: true } }, settings('kube-dns'))
        .problems,
    ).toEqual([
      'the kube-dns Service selects pods app=coredns, not k8s-app=kube-dns: write allow-dns for them (dns.preset: custom)',
    ]);
    expect(dnsFit(none, settings('kube-dns'))).toMatchObject({ recommended: undefined, fits: false });
    expect(dnsFit({ ...none, kubeDns }, settings('custom'))).toMatchObject({
      recommended: 'kube-dns',
      fits: false,
    });
  });
});
