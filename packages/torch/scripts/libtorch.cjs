#!/usr/bin/env node
// Locates libtorch for the native build and prints one field for binding.gyp.
//   LIBTORCH=/path/to/libtorch  a libtorch download or the `torch` folder of a pip install (CUDA or CPU)
//   (unset)                     Debian's libtorch-dev (headers under /usr/include, libs in the multiarch dir)
// Usage: node scripts/libtorch.cjs include|libdir|libs|defines|describe
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

function fail(msg) {
  process.stderr.write(`robusta/torch: ${msg}\n`);
  process.exit(1);
}

function multiarchLibDirs() {
  const dirs = [];
  try {
    const triple = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim();
    if (triple) dirs.push(`/usr/lib/${triple}`);
  } catch { /* no gcc multiarch: fall through */ }
  dirs.push('/usr/lib', '/usr/local/lib', '/usr/lib64');
  return dirs;
}

function abiFromTorchConfig(root) {
  const candidates = [
    path.join(root, 'share/cmake/Torch/TorchConfig.cmake'),
    path.join(root, 'lib/cmake/Torch/TorchConfig.cmake'),
  ];
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(fs.readFileSync(file, 'utf8'));
    if (m) return m[1];
  }
  return null;
}

function locate() {
  const root = process.env.LIBTORCH;
  if (root) {
    const include = [path.join(root, 'include'), path.join(root, 'include/torch/csrc/api/include')];
    const libdir = path.join(root, 'lib');
    if (!fs.existsSync(path.join(include[0], 'ATen/ATen.h'))) fail(`LIBTORCH=${root} has no include/ATen/ATen.h`);
    if (!fs.existsSync(path.join(libdir, 'libtorch.so'))) fail(`LIBTORCH=${root} has no lib/libtorch.so`);
    const abi = process.env.LIBTORCH_CXX11_ABI ?? abiFromTorchConfig(root) ?? '1';
    return { include, libdir, abi, source: `LIBTORCH=${root}` };
  }
  const include = ['/usr/include', '/usr/include/torch/csrc/api/include'];
  if (!fs.existsSync('/usr/include/ATen/ATen.h')) {
    fail('libtorch not found: install Debian\'s libtorch-dev (apt-get install libtorch-dev) or set LIBTORCH to a libtorch folder');
  }
  const libdir = multiarchLibDirs().find((d) => fs.existsSync(path.join(d, 'libtorch.so')));
  if (!libdir) fail('libtorch.so not found in the system library directories');
  return { include, libdir, abi: process.env.LIBTORCH_CXX11_ABI ?? '1', source: 'system (Debian libtorch-dev)' };
}

const lt = locate();
const has = (name) => fs.existsSync(path.join(lt.libdir, name));
const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
// A CUDA build registers its kernels from libtorch_cuda at load time: it must be linked even though
// no symbol of it is referenced, hence --no-as-needed (see binding.gyp).
if (has('libtorch_cuda.so')) libs.push('-ltorch_cuda');
if (has('libc10_cuda.so')) libs.push('-lc10_cuda');

const what = process.argv[2];
switch (what) {
  case 'include': console.log(lt.include.join(' ')); break;
  case 'libdir': console.log(lt.libdir); break;
  case 'libs': console.log(libs.join(' ')); break;
  case 'defines': console.log(`_GLIBCXX_USE_CXX11_ABI=${lt.abi}`); break;
  case 'describe': console.log(JSON.stringify({ ...lt, libs }, null, 2)); break;
  default: fail(`unknown field '${what}'`);
}
