#!/usr/bin/env node
// Runs every test file with node's test runner (TypeScript through tsx). Suites that need PostgreSQL or the real
// SOAP clients skip with a reason when those are missing, except under CI=true where a skip is a failure.
// Usage: npm test [-- <file or directory filter>...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : walk(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

if (filters.length === 0) {
  for (const step of [['npm', ['run', '-s', 'typecheck']], ['npm', ['run', '-s', 'lint']], ['npm', ['run', '-s', 'check:deps']], ['npm', ['run', '-s', 'check:tsql']]]) {
    console.log(`> ${step[0]} ${step[1].join(' ')}`);
    const r = spawnSync(step[0], step[1], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'scripts/skip-summary.mjs')}`, '--test-reporter-destination=stdout'];
const args = ['--disable-proto=delete', '--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...reporters, ...files];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env } });
process.exit(r.status ?? 1);
