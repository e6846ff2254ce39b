#!/usr/bin/env node
// `npm start`'s prestart: compiles (npm run build) only when dist/ is missing or older than a source or a config
// file that shapes the output, so starting an already-built tree costs a few file stats instead of a tsc run.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist', '.build-stamp');

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), s.mtimeMs);
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -Infinity;
  }
}

const inputs = ['src', 'web', 'scripts/build-admin.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'].map((p) => join(root, p));
const built = Math.min(mtime(stamp), mtime(join(root, 'dist', 'src', 'cli.js')), mtime(join(root, 'dist', 'admin', 'index.html')));
if (inputs.some((p) => mtime(p) > -Infinity && newest(p) > built)) {
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
