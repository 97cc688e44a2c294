// Watches one file for new content. A mounted ConfigMap is replaced atomically (the kubelet swaps
// the `..data` symlink in its folder), so the folder is watched, not the file, and the content is
// compared: a touch or a rename that changes nothing is no change. Events come in bursts; they are
// coalesced for `settleMs`.
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileWatch {
  close(): void;
}

export function watchFile(
  path: string,
  initial: string,
  changed: (text: string) => void,
  failed: (err: unknown) => void,
  settleMs = 200,
): FileWatch {
  let last = initial;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    timer = undefined;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      // Mid-swap, or removed: the next event (or the file coming back) tells.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') failed(err);
      return;
    }
    if (text === last) return;
    last = text;
    changed(text);
  };
  const watcher = watch(dirname(path), { persistent: false }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => void check(), settleMs);
  });
  watcher.on('error', failed);
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
