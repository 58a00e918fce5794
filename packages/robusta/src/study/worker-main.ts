// The entry point of a local worker process (the local pool forks it):
//   node worker-main.js <store> <study> <runsDir> [leaseMs]
// It exits as soon as its parent is gone, leaving its run to be reclaimed, so a killed
// `robusta study run` leaves no orphan training behind.
import { readFileSync } from 'node:fs';
import { openStore } from './store/open.js';
import { runWorker } from './worker.js';

const [storePath, study, runsDir, leaseText] = process.argv.slice(2);
if (!storePath || !study || !runsDir) {
  console.error('usage: worker-main.js <store> <study> <runsDir> [leaseMs]');
  process.exit(2);
}
const parent = process.ppid;
/** The current parent pid: Node's process.ppid is read once at start-up, /proc/self/stat is live (Linux). */
function currentParent(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}
const watchParent = (): void => {
  // Reparenting happens the moment the parent exits (a killed parent that is not yet reaped still
  // answers signal 0); elsewhere than Linux, probe it with signal 0.
  const now = currentParent();
  if (now !== null) {
    if (now !== parent) process.exit(3);
    return;
  }
  try {
    process.kill(parent, 0);
  } catch {
    process.exit(3);
  }
};
const timer = setInterval(watchParent, 1000);
timer.unref();
const store = openStore(storePath);
try {
  const s = await runWorker({
    store, study, runsDir, leaseMs: leaseText ? Number(leaseText) : undefined, onBatch: watchParent,
    log: (line) => process.stderr.write(`[worker ${process.pid}] ${line}\n`),
  });
  process.send?.({ type: 'summary', ...s });
} finally {
  await store.close();
}
