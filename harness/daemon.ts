// A long-running process of the test node (containerd, the kubelet, kube-proxy, kube-router): its
// output straight to a log file (it may outlive the process that started it), stopped by SIGTERM,
// then SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/** A process of the node, logging to a file, stopped by a signal. */
export class Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(name: string, argv: string[], log: string) {
    this.name = name;
    // Straight to its file, not through a pipe: it may outlive the process that started it.
    const fd = openSync(log, 'a');
    const [command, ...args] = argv;
    this.child = spawn(command!, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.exited = new Promise((res) =>
      this.child.on('exit', (code, signal) => res(code ?? (signal ? 128 : null))),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
