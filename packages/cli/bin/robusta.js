#!/usr/bin/env node
// The robusta command: `npx robusta` inside the repository, and `robusta` on the PATH after
// scripts/install.sh. This file exists before the build so that npm links it at install time: npm
// does not link a bin whose file is missing, and bin pointing at dist/ (built after `npm ci`) left
// `npx robusta` answering "could not determine executable to run".
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('robusta: the command is not built yet: run `npm run build` (or `bash scripts/install.sh`) in the repository');
  process.exit(1);
}
await import(main.href);
