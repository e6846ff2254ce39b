#!/usr/bin/env node
// Whether dist/ is older than what it is built from, and the build when it is. `npm start` (scripts/start.mjs)
// calls buildIfStale() before running the CLI, so starting an already-built tree costs a few file stats instead of a
// tsc run. `npm run build` ends with `node scripts/build-if-stale.mjs --stamp`, so a start right after it does not
// build again.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** Sources and build files: a change to any of them changes what the build writes. */
export const BUILD_INPUTS = ['src', 'web', 'scripts/build-admin.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];
/** The build stamp and two files every build writes; the oldest of them dates the build. */
export const BUILD_OUTPUTS = ['dist/.build-stamp', 'dist/src/cli.js', 'dist/admin/index.html'];

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -Infinity;
  }
}

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), s.mtimeMs);
}

/** True when an output is missing or a build input (file or anything under a directory) is newer than the build. */
export function isStale(root = projectRoot) {
  const built = Math.min(...BUILD_OUTPUTS.map((p) => mtime(join(root, p))));
  if (built === -Infinity) return true;
  return BUILD_INPUTS.map((p) => join(root, p)).some((p) => mtime(p) > -Infinity && newest(p) > built);
}

export function writeStamp(root = projectRoot) {
  writeFileSync(join(root, BUILD_OUTPUTS[0]), `${new Date().toISOString()}\n`);
}

/** Runs `npm run build` when dist/ is stale; exits the process with the build's status when it fails. */
export function buildIfStale(root = projectRoot) {
  if (!isStale(root)) return false;
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--stamp')) writeStamp();
  else buildIfStale();
}
