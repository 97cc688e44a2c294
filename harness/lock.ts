// A lock between processes of this machine, so that concurrent test runs and test files never build
// the same tool at once: a file under .cache/locks created exclusively, holding its owner's pid.
// A lock whose owner is gone (a run killed mid-build) is taken over. Two waiters taking over the
// same stale lock at one instant could both proceed: what runs under it writes its results
// atomically (a rename), so that costs a second build, never a broken one.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const POLL_MS = 250;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `work` holding the lock `name` under `dir`. While another live process holds it, waits,
 * and says once who it waits for.
 */
export async function withLock<T>(
  dir: string,
  name: string,
  work: () => Promise<T>,
  log: (line: string) => void,
): Promise<T> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name.replaceAll('/', '_')}.lock`);
  let told = false;
  for (;;) {
    try {
      const file = await open(path, 'wx');
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    // An empty file is one being written this instant: its owner is alive.
    if (Number.isInteger(owner) && owner !== process.pid && !alive(owner)) {
      await rm(path, { force: true });
      continue;
    }
    if (!told) {
      log(`${name}: waiting for another run (pid ${owner || '?'}) that holds ${path}`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await work();
  } finally {
    await rm(path, { force: true });
  }
}
