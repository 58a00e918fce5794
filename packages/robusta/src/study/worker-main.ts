// The entry point of a local worker process (the local pool forks it):
//   node worker-main.js <store> <study> <runsDir> [leaseMs]
// It exits as soon as its parent is gone, leaving its run to be reclaimed, so a killed
// `robusta study run` leaves no orphan training behind. (Node's process.ppid is read once at start-up,
// so the parent is probed with signal 0 instead.)
import { openStore } from './store/open.js';
import { runWorker } from './worker.js';

const [storePath, study, runsDir, leaseText] = process.argv.slice(2);
if (!storePath || !study || !runsDir) {
  console.error('usage: worker-main.js <store> <study> <runsDir> [leaseMs]');
  process.exit(2);
}
const parent = process.ppid;
const watchParent = (): void => {
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
