// Images without a registry: a docker-archive tar (what `docker save` writes and `ctr images
// import` reads) holding one layer of files, made with the machine's tar. The node's pause and
// CoreDNS images are a static binary each.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sh } from './hostns.ts';

export interface ImageFile {
  /** Absolute path inside the image. */
  path: string;
  /** A file of this machine to copy, or the content itself. */
  from?: string;
  content?: string;
  mode?: number;
}

export interface ImageConfig {
  entrypoint: string[];
  user?: string;
  env?: string[];
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes image `ref` (e.g. `localhost/nic/pause:1`) as a docker-archive at `out`. */
export async function dockerArchive(
  ref: string,
  files: ImageFile[],
  config: ImageConfig,
  out: string,
): Promise<void> {
  const work = await mkdtemp(join(dirname(out), '.archive-'));
  try {
    const root = join(work, 'rootfs');
    for (const f of files) {
      const target = join(root, f.path);
      await mkdir(dirname(target), { recursive: true });
      if (f.from) await copyFile(f.from, target);
      else await writeFile(target, f.content ?? '');
      await chmod(target, f.mode ?? 0o644);
    }
    const layer = join(work, 'layer.tar');
    await sh('tar', ['-C', root, '--owner=0', '--group=0', '--numeric-owner', '-cf', layer, '.']);
    const image = {
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: config.entrypoint,
        ...(config.user && { User: config.user }),
        Env: config.env ?? ['PATH=/'],
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${await sha256(layer)}`] },
    };
    await writeFile(join(work, 'config.json'), JSON.stringify(image));
    await writeFile(
      join(work, 'manifest.json'),
      JSON.stringify([{ Config: 'config.json', RepoTags: [ref], Layers: ['layer.tar'] }]),
    );
    await sh('tar', ['-C', work, '-cf', out, 'manifest.json', 'config.json', 'layer.tar']);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
