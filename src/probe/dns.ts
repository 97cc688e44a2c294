// The few bytes of DNS the probe needs (RFC 1035): an A query, and the addresses in its answer.
// Written here rather than through node:dns so that the probe chooses the server and the
// transport (UDP or TCP: both must get through an allow-dns policy). Pure: bytes in, bytes out.

export const TYPE_A = 1;

/** A query for `name`'s A records, recursion desired. */
export function encodeQuery(id: number, name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  if (labels.some((l) => l.length === 0 || l.length > 63)) throw new Error(`not a DNS name: ${name}`);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])),
    Buffer.from([0]),
  ]);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(TYPE_A, 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, qname, tail]);
}

export interface Answer {
  /** 0 NOERROR, 3 NXDOMAIN, … */
  rcode: number;
  /** The A records' addresses, in order. */
  addresses: string[];
}

/** The answer to query `id`; throws when the message is not one. */
export function decodeAnswer(message: Buffer, id: number): Answer {
  if (message.length < 12) throw new Error('DNS answer shorter than its header');
  if (message.readUInt16BE(0) !== id) throw new Error('DNS answer to another query');
  const flags = message.readUInt16BE(2);
  if ((flags & 0x8000) === 0) throw new Error('DNS message is not an answer');
  const questions = message.readUInt16BE(4);
  const answers = message.readUInt16BE(6);
  let at = 12;
  for (let i = 0; i < questions; i++) at = skipName(message, at) + 4;
  const addresses: string[] = [];
  for (let i = 0; i < answers; i++) {
    at = skipName(message, at);
    if (at + 10 > message.length) throw new Error('DNS answer cut short');
    const type = message.readUInt16BE(at);
    const length = message.readUInt16BE(at + 8);
    const data = at + 10;
    if (data + length > message.length) throw new Error('DNS answer cut short');
    if (type === TYPE_A && length === 4) addresses.push([...message.subarray(data, data + 4)].join('.'));
    at = data + length;
  }
  return { rcode: flags & 0x000f, addresses };
}

/** The offset after a name: labels, ending in a zero byte or a compression pointer. */
function skipName(message: Buffer, at: number): number {
  for (;;) {
    if (at >= message.length) throw new Error('DNS name runs past the message');
    const length = message[at]!;
    if ((length & 0xc0) === 0xc0) return at + 2;
    if (length === 0) return at + 1;
    at += length + 1;
  }
}

/** What a pod's resolv.conf says: the servers, the search domains, ndots. */
export interface ResolvConf {
  nameservers: string[];
  search: string[];
  ndots: number;
}

export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], ndots: 1 };
  for (const line of text.split('\n')) {
    const [key, ...values] = line.trim().split(/\s+/);
    if (key === 'nameserver' && values[0]) conf.nameservers.push(values[0]);
    else if (key === 'search') conf.search = values;
    else if (key === 'options')
      for (const option of values) {
        const ndots = /^ndots:(\d+)$/.exec(option);
        if (ndots) conf.ndots = Number(ndots[1]);
      }
  }
  return conf;
}

/** The names a resolver tries for `name`, in order (glibc's rule: ndots decides whether the name as given goes first). */
export function candidates(name: string, conf: ResolvConf): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const searched = conf.search.map((domain) => `${name}.${domain}`);
  const dots = name.split('.').length - 1;
  return dots >= conf.ndots ? [name, ...searched] : [...searched, name];
}
