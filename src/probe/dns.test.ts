import { describe, expect, it } from 'vitest';
import { candidates, decodeAnswer, encodeQuery, parseResolvConf } from './dns.ts';

/** An answer as a server sends it: the question echoed, then A records naming it by a pointer. */
function answer(id: number, name: string, addresses: string[], rcode = 0): Buffer {
  const query = encodeQuery(id, name);
  query.writeUInt16BE(0x8180 | rcode, 2);
  query.writeUInt16BE(addresses.length, 6);
  const records = addresses.map((a) => {
    const r = Buffer.alloc(16);
    r.writeUInt16BE(0xc00c, 0); // the name at offset 12
    r.writeUInt16BE(1, 2);
    r.writeUInt16BE(1, 4);
    r.writeUInt32BE(30, 6);
    r.writeUInt16BE(4, 10);
    a.split('.').forEach((octet, i) => r.writeUInt8(Number(octet), 12 + i));
    return r;
  });
  return Buffer.concat([query, ...records]);
}

describe('the probe’s DNS', () => {
  it('asks for A records of the name, label by label', () => {
    const q = encodeQuery(0x1234, 'kubernetes.default.svc.cluster.local.');
    expect(q.readUInt16BE(0)).toBe(0x1234);
    expect(q.subarray(12, 24).toString('latin1')).toBe('\x0akubernetes\x07');
    expect(q.at(-5)).toBe(0); // the root label
    expect(() => encodeQuery(1, 'a..b')).toThrow('not a DNS name');
  });

  it('reads the addresses of an answer, and its error code', () => {
    const name = 'kube-dns.kube-system.svc.cluster.local';
    expect(decodeAnswer(answer(7, name, ['10.96.0.10', '10.96.0.11']), 7)).toEqual({
      rcode: 0,
      addresses: ['10.96.0.10', '10.96.0.11'],
    });
    expect(decodeAnswer(answer(7, name, [], 3), 7)).toEqual({ rcode: 3, addresses: [] });
  });

  it('refuses what is not the answer to its query', () => {
    expect(() => decodeAnswer(answer(7, 'a.b', ['1.2.3.4']), 8)).toThrow('another query');
    expect(() => decodeAnswer(encodeQuery(7, 'a.b'), 7)).toThrow('not an answer');
    expect(() => decodeAnswer(answer(7, 'a.b', ['1.2.3.4']).subarray(0, 30), 7)).toThrow('cut short');
  });

  it('tries names as a pod’s resolver does: search domains first below ndots', () => {
    const conf = parseResolvConf(
      'search team-a.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    expect(conf).toEqual({
      nameservers: ['10.96.0.10'],
      search: ['team-a.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      ndots: 5,
    });
    expect(candidates('kubernetes.default', conf)).toEqual([
      'kubernetes.default.team-a.svc.cluster.local',
      'kubernetes.default.svc.cluster.local',
      'kubernetes.default.cluster.local',
      'kubernetes.default',
    ]);
    expect(candidates('kubernetes.default.svc.cluster.local.', conf)).toEqual([
      'kubernetes.default.svc.cluster.local',
    ]);
    expect(candidates('a.b.c.d.e.f', conf)[0]).toBe('a.b.c.d.e.f');
  });
});
