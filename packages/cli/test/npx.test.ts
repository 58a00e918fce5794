// `robusta` as a command: `npx robusta` inside the repository, and the reason it once failed ("could not
// determine executable to run"): npm links a workspace's bin only if the file exists at install time,
// and the bin pointed into dist/, which the build creates after `npm ci`. The launcher in bin/ is
// committed, so a fresh install links it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const cliDir = fileURLToPath(new URL('../..', import.meta.url));
const repo = join(cliDir, '..', '..');
const pkg = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const hasNpm = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;

test('the bin is a file in git, outside the build output', () => {
  const bin = pkg.bin.robusta!;
  assert.ok(!bin.includes('dist/'), `bin ${bin} points into the build output: a fresh npm ci would not link it`);
  assert.ok(existsSync(join(cliDir, bin)));
  const tracked = spawnSync('git', ['ls-files', '--error-unmatch', join('packages', 'cli', bin)], { cwd: repo, encoding: 'utf8' });
  if (tracked.status !== 0 && existsSync(join(repo, '.git'))) assert.fail(`${bin} is not committed`);
});

test('npx robusta works inside the repository', { skip: hasNpm ? false : 'npm is not installed' }, () => {
  const r = spawnSync('npx', ['--no-install', 'robusta', 'help', 'eval'], { cwd: join(repo, 'packages', 'robusta'), encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /--save-adv FILE/);
});

test('a fresh install (bin linked before any build) gives a working npx robusta once built', { skip: hasNpm ? false : 'npm is not installed', timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-npx-'));
  try {
    // A workspace holding the CLI package as it is in git (its dependencies left out: nothing to fetch).
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'ws', private: true, workspaces: ['packages/cli'] }));
    mkdirSync(join(dir, 'packages', 'cli', 'bin'), { recursive: true });
    writeFileSync(join(dir, 'packages', 'cli', 'package.json'), JSON.stringify({ ...pkg, dependencies: {} }));
    copyFileSync(join(cliDir, pkg.bin.robusta!), join(dir, 'packages', 'cli', pkg.bin.robusta!));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir, stdio: 'pipe' });
    const before = spawnSync('npx', ['--no-install', 'robusta'], { cwd: dir, encoding: 'utf8' });
    assert.equal(before.status, 1);
    assert.match(before.stderr, /the command is not built yet: run `npm run build`/);
    // The build then creates dist/src/main.js: the same link now runs it.
    mkdirSync(join(dir, 'packages', 'cli', 'dist', 'src'), { recursive: true });
    const main = join(dir, 'packages', 'cli', 'dist', 'src', 'main.js');
    writeFileSync(main, 'console.log("main ran with", JSON.stringify(process.argv.slice(2)));\n');
    chmodSync(main, 0o755);
    const after = spawnSync('npx', ['--no-install', 'robusta', 'attacks', '--json'], { cwd: dir, encoding: 'utf8' });
    assert.equal(after.status, 0, after.stderr);
    assert.match(after.stdout, /main ran with \["attacks","--json"\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
