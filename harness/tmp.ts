// Temporary folders for the tests, the harness and the benchmark: under one root per process
// (/tmp/nic-tests/<pid>/), removed when the process exits or is stopped with SIGTERM; the root of
// a process that died otherwise (SIGKILL, a crash) is removed by the next process that asks for one.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = join(tmpdir(), 'nic-tests');
const root = join(base, String(process.pid));
let ready = false;

/** A new empty folder, named `<prefix>-XXXXXX`, gone when this process exits. */
export async function tempDir(prefix: string): Promise<string> {
  if (!ready) {
    ready = true;
    mkdirSync(root, { recursive: true });
    for (const pid of readdirSync(base))
      if (pid !== String(process.pid) && !alive(Number(pid)))
        rmSync(join(base, pid), { recursive: true, force: true });
    const clean = () => rmSync(root, { recursive: true, force: true });
    process.once('exit', clean);
    // Vitest stops a test file's worker with SIGTERM, which skips 'exit': clean, then let the
    // signal do what it would have done.
    process.once('SIGTERM', () => {
      clean();
      process.kill(process.pid, 'SIGTERM');
    });
  }
  return mkdtemp(join(root, `${prefix}-`));
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
