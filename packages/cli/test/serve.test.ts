// robusta serve as a user starts it: it prints a loopback URL with a fresh token, answers, refuses
// work without the token, and stops on Ctrl-C (SIGINT).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));

test('robusta serve: loopback URL with a token, token required for work, stops on SIGINT', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-serve-'));
  const child = spawn(process.execPath, [main, 'serve', '--runs', root, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.on('exit', (code) => reject(new Error(`robusta serve exited (${code}) before printing its URL`)));
    });
    const { url, openUrl, token } = JSON.parse(first) as { url: string; openUrl: string; token: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(openUrl, `${url}#token=${token}`);
    assert.ok(token.length >= 32, 'a long random token');
    assert.equal((await fetch(`${url}api/health`)).status, 200);
    assert.match(await (await fetch(url)).text(), /Attack playground/);
    const work = { model: 'mnist-mlp', checkpoint: null, image: { dataset: 'mnist', index: 0 }, attack: 'fgsm' };
    const refused = await fetch(`${url}api/attacks`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Robusta-Client': 'cli-test-0001' }, body: JSON.stringify(work) });
    assert.equal(refused.status, 401);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
  const bad = spawnSync(process.execPath, [main, 'serve', '--store', join(root, 'missing.sqlite')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--store .*missing\.sqlite: no such file/);
});
