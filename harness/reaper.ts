// The harness's last line of defence against orphan JVMs: started detached (its own process group, so a
// Ctrl-C or a kill of the test runner's group does not reach it), it polls the owner's pid and, once the
// owner is gone without having cleaned up, stops every process group listed in the pgids file.
// A clean stop deletes the pgids file, and the reaper then exits on its own.
// Usage: node reaper.ts <owner-pid> <pgids-file>
// Deliberately self-contained (no imports from the harness): it must run even if the rest does not load.
import { readFileSync, rmSync } from 'node:fs';

const ownerPid = Number(process.argv[2]);
const pgidsFile = process.argv[3];
const POLL_MS = 500;
const TERM_GRACE_MS = 5_000;

if (!Number.isInteger(ownerPid) || ownerPid <= 0 || pgidsFile === undefined) {
  console.error('usage: reaper.ts <owner-pid> <pgids-file>');
  process.exit(2);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    // EPERM: it exists but is not ours to signal; it is alive all the same.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPgids(file: string): number[] | undefined {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pgid) => Number.isInteger(pgid) && pgid > 1);
  } catch {
    return undefined;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

async function reap(file: string): Promise<void> {
  const pgids = readPgids(file) ?? [];
  for (const pgid of pgids) {
    signalGroup(pgid, 'SIGCONT');
    signalGroup(pgid, 'SIGTERM');
  }
  const deadline = Date.now() + TERM_GRACE_MS;
  let left = pgids.filter((pgid) => signalGroup(pgid, 0));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    left = left.filter((pgid) => signalGroup(pgid, 0));
  }
  for (const pgid of left) signalGroup(pgid, 'SIGKILL');
  rmSync(file, { force: true });
}

const timer = setInterval(() => {
  if (readPgids(pgidsFile) === undefined) {
    clearInterval(timer);
    return;
  }
  if (!alive(ownerPid)) {
    clearInterval(timer);
    void reap(pgidsFile);
  }
}, POLL_MS);
