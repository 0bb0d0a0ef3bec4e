import fs from 'node:fs';
import { START_STATUS } from '../contract/index.js';
import { closeOnExec } from '../sys/cloexec.js';

/**
 * The pipe on which the shim that started us waits to hear how the start went (see
 * START_STATUS). One line goes out, then the pipe is closed; without a pipe (started by the CLI
 * or by hand) both calls do nothing.
 */
export class StartStatus {
  private constructor(private fd: number | null) {}

  /**
   * Takes the fd named in `env` and removes the variable. Call it before anything starts a
   * child: no child of ours may see the variable or hold the pipe open, or the shim would wait
   * on a git process of ours instead of on us.
   */
  static take(env: NodeJS.ProcessEnv): StartStatus {
    const raw = env[START_STATUS.fdEnv];
    delete env[START_STATUS.fdEnv];
    const fd = Number(raw);
    if (!raw || !Number.isInteger(fd) || fd < 3) return new StartStatus(null);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFIFO() && !st.isSocket()) return new StartStatus(null); // not the shim's pipe
    } catch {
      return new StartStatus(null);
    }
    // Without libc a child of ours may delay the shim's EOF until it exits; nothing to do.
    closeOnExec(fd);
    return new StartStatus(fd);
  }

  listening(): void {
    this.send(START_STATUS.ready);
  }

  refused(reason: string): void {
    this.send(reason.replace(/\n/g, ' ') || 'refused');
  }

  private send(line: string): void {
    const fd = this.fd;
    if (fd === null) return;
    this.fd = null;
    try {
      fs.writeSync(fd, `${line}\n`);
    } catch {
      // the shim gave up waiting and closed its end
    }
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}
