// The CPU block cache (native/cpu_cache.cc): a freed block of 1 MiB or more is handed to the next
// allocation of about its size, never with the old values showing through an op that defines them;
// stale sizes are freed, the cache keeps to its limit, empties on request, and ROBUSTA_CPU_CACHE_MB=0
// turns it off.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpuCacheStats, emptyCpuCache, full, ones, randn, tidy, zeros } from '../src/index.js';

const indexUrl = new URL('../src/index.js', import.meta.url).href;
const MIB = 1 << 20;

test('a freed large block is reused for the next allocation of its size; small ones are not cached', () => {
  emptyCpuCache();
  const start = cpuCacheStats();
  assert.equal(start.enabled, true);
  assert.equal(start.cachedBytes, 0);
  const a = full([MIB], 7); // 4 MiB
  a.dispose();
  assert.equal(cpuCacheStats().cachedBytes, 4 * MIB, 'the block is held');
  const b = zeros([MIB]);
  const afterReuse = cpuCacheStats();
  assert.equal(afterReuse.hits - start.hits, 1, 'served from the cache');
  assert.equal(afterReuse.cachedBytes, 0);
  assert.equal(b.sum().item(), 0, 'zeros() writes every element: nothing of the old 7s shows');
  b.dispose();
  // A request for less than half the cached block does not take it.
  const c = ones([MIB / 4]);
  const afterMiss = cpuCacheStats();
  assert.equal(afterMiss.hits, afterReuse.hits);
  assert.equal(afterMiss.cachedBytes, 4 * MIB, 'the 4 MiB block, cached just now, stays');
  assert.equal(c.sum().item(), MIB / 4);
  c.dispose();
  const small = ones([1000]);
  small.dispose();
  assert.equal(cpuCacheStats().cachedBytes, 5 * MIB, 'the 4 KB tensor was not cached');
  // A loop on 1 MiB blocks: the 4 MiB block is not taken for 600 large allocations, so it is stale,
  // and the next request the cache cannot serve frees it.
  for (let i = 0; i < 600; i++) zeros([MIB / 4]).dispose();
  assert.equal(cpuCacheStats().cachedBytes, 5 * MIB);
  const d = zeros([3 * MIB]);
  assert.equal(cpuCacheStats().cachedBytes, MIB, 'the stale 4 MiB block was freed; the 1 MiB one, taken just now, stays');
  d.dispose();
  emptyCpuCache();
  assert.equal(cpuCacheStats().cachedBytes, 0);
});

test('a loop of same-size steps allocates its large blocks once', () => {
  emptyCpuCache();
  const x = randn([256, 2048]); // 2 MiB
  const step = () => tidy(() => x.mul(2).add(1).relu().sum().item());
  const first = step();
  const s0 = cpuCacheStats();
  for (let i = 0; i < 5; i++) assert.equal(step(), first, 'same values every step');
  const s1 = cpuCacheStats();
  assert.equal(s1.misses, s0.misses, 'no new large block after the first step');
  assert.ok(s1.hits - s0.hits >= 15, `hits ${s1.hits - s0.hits}`);
  x.dispose();
  emptyCpuCache();
});

function inFreshProcess(env: Record<string, string>): { enabled: boolean; cachedBytes: number; limitBytes: number } {
  const script = `
import { cpuCacheStats, zeros } from '${indexUrl}';
zeros([3 * ${MIB}]).dispose(); // 12 MiB: above a 10 MiB limit by itself
const a = zeros([${MIB}]); // 4 MiB
const b = zeros([2 * ${MIB}]); // 8 MiB
a.dispose();
b.dispose();
console.log(JSON.stringify(cpuCacheStats()));
`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { enabled: boolean; cachedBytes: number; limitBytes: number };
}

test('the cache keeps to ROBUSTA_CPU_CACHE_MB, and 0 turns it off', () => {
  const limited = inFreshProcess({ ROBUSTA_CPU_CACHE_MB: '10' });
  assert.equal(limited.limitBytes, 10 * MIB);
  // The 12 MiB block was not kept; the 8 MiB block did not fit beside the 4 MiB one, which was freed.
  assert.ok(limited.cachedBytes <= 10 * MIB, `cached ${limited.cachedBytes}`);
  assert.equal(limited.cachedBytes, 8 * MIB);
  const off = inFreshProcess({ ROBUSTA_CPU_CACHE_MB: '0' });
  assert.equal(off.enabled, false);
  assert.equal(off.cachedBytes, 0);
});
