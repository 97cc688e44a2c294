import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { fromKubeconfig, inCluster } from './kubeconfig.ts';

const folders: string[] = [];
afterEach(() => {
  vi.useRealTimers();
});
afterAll(() => Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true }))));

async function folder(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nic-kubeconfig-'));
  folders.push(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

async function kubeconfig(dir: string, cluster: object, user: object): Promise<string> {
  const path = join(dir, 'config');
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'here',
      contexts: [
        { name: 'other', context: { cluster: 'elsewhere', user: 'u' } },
        { name: 'here', context: { cluster: 'c', user: 'u' } },
      ],
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
    }),
  );
  return path;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('kubeconfig', () => {
  it('reads the current context: server, inline CA and a token', async () => {
    const path = await kubeconfig(
      await folder(),
      { server: 'https://api.example:6443/', 'certificate-authority-data': b64('CA') },
      { token: 'abc' },
    );
    const access = fromKubeconfig(path);
    expect(access.server).toBe('https://api.example:6443');
    const { tls, headers } = await access.credentials();
    expect(String(tls.ca)).toBe('CA');
    expect(headers).toEqual([['Authorization', 'Bearer abc']]);
  });

  it('reads files relative to the kubeconfig: CA, client certificate and key; TLS options', async () => {
    const dir = await folder({ 'ca.crt': 'CA', 'me.crt': 'CERT', 'me.key': 'KEY' });
    const path = await kubeconfig(
      dir,
      {
        server: 'https://api',
        'certificate-authority': 'ca.crt',
        'tls-server-name': 'kubernetes',
        'insecure-skip-tls-verify': true,
      },
      { 'client-certificate': 'me.crt', 'client-key': join(dir, 'me.key') },
    );
    const { tls, headers } = await fromKubeconfig(path).credentials();
    expect([String(tls.ca), String(tls.cert), String(tls.key)]).toEqual(['CA', 'CERT', 'KEY']);
    expect(tls).toMatchObject({ servername: 'kubernetes', rejectUnauthorized: false });
    expect(headers).toEqual([]);
  });

  it('re-reads a token file once a minute, so that a rotated token is used', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const dir = await folder({ token: 'one\n' });
    const access = fromKubeconfig(await kubeconfig(dir, { server: 'https://api' }, { tokenFile: 'token' }));
    expect((await access.credentials()).headers).toContainEqual(['Authorization', 'Bearer one']);
    await writeFile(join(dir, 'token'), 'two');
    expect((await access.credentials()).headers).toContainEqual(['Authorization', 'Bearer one']);
    vi.advanceTimersByTime(61_000);
    expect((await access.credentials()).headers).toContainEqual(['Authorization', 'Bearer two']);
  });

  it('sends basic auth when that is what the user has', async () => {
    const path = await kubeconfig(
      await folder(),
      { server: 'https://api' },
      { username: 'me', password: 'pw' },
    );
    expect((await fromKubeconfig(path).credentials()).headers).toEqual([
      ['Authorization', `Basic ${b64('me:pw')}`],
    ]);
  });

  it("runs an exec plugin through client-node, keeping the cluster's TLS settings", async () => {
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-exec' },
    };
    const path = await kubeconfig(
      await folder(),
      { server: 'https://api', 'tls-server-name': 'kubernetes', 'insecure-skip-tls-verify': true },
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: process.execPath,
          args: ['-e', `console.log(${JSON.stringify(JSON.stringify(credential))})`],
          interactiveMode: 'Never',
        },
      },
    );
    const { tls, headers } = await fromKubeconfig(path).credentials();
    expect(headers).toContainEqual(['Authorization', 'Bearer from-exec']);
    // The cluster's TLS settings hold for exec users too.
    expect(tls).toMatchObject({ servername: 'kubernetes', rejectUnauthorized: false });
  });

  it('names the field when the kubeconfig cannot be used', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'empty'), 'apiVersion: v1\n');
    expect(() => fromKubeconfig(join(dir, 'empty'))).toThrow(/empty: current-context is not set/);
    const noServer = await kubeconfig(dir, {}, { token: 'x' });
    expect(() => fromKubeconfig(noServer)).toThrow(/contexts.here.cluster: no cluster c with a server/);
  });
});

describe('kubeconfig as users have it', () => {
  it('merges a KUBECONFIG list as kubectl does: the first to set a name or current-context wins', async () => {
    const one = await folder({ 'ca.crt': 'CA-ONE' });
    const two = await folder({ 'ca.crt': 'CA-TWO', token: 'from-two\n' });
    await writeFile(
      join(one, 'config'),
      stringify({
        'current-context': 'dev',
        clusters: [{ name: 'shared', cluster: { server: 'https://one', 'certificate-authority': 'ca.crt' } }],
      }),
    );
    await writeFile(
      join(two, 'config'),
      stringify({
        'current-context': 'prod',
        contexts: [{ name: 'dev', context: { cluster: 'shared', user: 'me' } }],
        clusters: [{ name: 'shared', cluster: { server: 'https://two', 'certificate-authority': 'ca.crt' } }],
        users: [{ name: 'me', user: { tokenFile: 'token' } }],
      }),
    );
    const access = fromKubeconfig(`${join(one, 'config')}:${join(one, 'absent')}:${join(two, 'config')}`);
    expect(access.server).toBe('https://one');
    const { tls, headers } = await access.credentials();
    // Each relative path is read from the folder of the file that names it.
    expect(String(tls.ca)).toBe('CA-ONE');
    expect(headers).toEqual([['Authorization', 'Bearer from-two']]);
  });

  it('uses the context --context names instead of the current one, and names the ones there are', async () => {
    const dir = await folder();
    const path = join(dir, 'config');
    await writeFile(
      path,
      stringify({
        'current-context': 'dev',
        contexts: [
          { name: 'dev', context: { cluster: 'dev' } },
          { name: 'prod', context: { cluster: 'prod' } },
        ],
        clusters: [
          { name: 'dev', cluster: { server: 'https://dev' } },
          { name: 'prod', cluster: { server: 'https://prod' } },
        ],
      }),
    );
    expect(fromKubeconfig(path).server).toBe('https://dev');
    expect(fromKubeconfig(path, 'prod').server).toBe('https://prod');
    expect(() => fromKubeconfig(path, 'stage')).toThrow(
      `--context stage: kubeconfig ${path} defines no such context (defined: dev, prod)`,
    );
  });

  it('impersonates as client-go does: a user, a uid, one header per group, extras', async () => {
    const path = await kubeconfig(
      await folder(),
      { server: 'https://api' },
      {
        token: 't',
        as: 'jane',
        'as-uid': '42',
        'as-groups': ['devs', 'ops'],
        'as-user-extra': { scopes: ['a b'] },
      },
    );
    expect((await fromKubeconfig(path).credentials()).headers).toEqual([
      ['Authorization', 'Bearer t'],
      ['Impersonate-User', 'jane'],
      ['Impersonate-Uid', '42'],
      ['Impersonate-Group', 'devs'],
      ['Impersonate-Group', 'ops'],
      ['Impersonate-Extra-scopes', 'a b'],
    ]);
  });

  it("takes a cluster's proxy-url, and refuses one it cannot use", async () => {
    const dir = await folder();
    const ok = await kubeconfig(dir, { server: 'https://api', 'proxy-url': 'socks5://127.0.0.1:1080' }, {});
    expect(fromKubeconfig(ok).proxy).toBe('socks5://127.0.0.1:1080');
    const bad = await kubeconfig(dir, { server: 'https://api', 'proxy-url': 'ftp://proxy' }, {});
    expect(() => fromKubeconfig(bad)).toThrow(/clusters.c.proxy-url: "ftp:\/\/proxy" is not an http/);
  });

  it('refuses what it would otherwise ignore, naming the field', async () => {
    const dir = await folder();
    const typo = await kubeconfig(dir, { server: 'https://api' }, { tokenfile: 'token' });
    expect(() => fromKubeconfig(typo)).toThrow(
      /users.u.tokenfile is not supported by this controller; remove it/,
    );
    const groupsAlone = await kubeconfig(dir, { server: 'https://api' }, { 'as-groups': ['devs'] });
    expect(() => fromKubeconfig(groupsAlone)).toThrow(/users.u.as-groups: needs "as"/);
  });
});

describe('in cluster', () => {
  it('uses the service host and port, the ServiceAccount CA and its token', async () => {
    const dir = await folder({ 'ca.crt': 'CA', token: 'sa-token\n' });
    const access = inCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    expect(access.server).toBe('https://[fd00::1]:443');
    const { tls, headers } = await access.credentials();
    expect(String(tls.ca)).toBe('CA');
    expect(headers).toEqual([['Authorization', 'Bearer sa-token']]);
  });
});
