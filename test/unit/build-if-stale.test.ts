/**
 * `npm start` builds only when dist/ is older than a build input (scripts/build-if-stale.mjs): a tree as a user has it
 * in a temporary directory, with file times set explicitly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
// @ts-expect-error: a plain .mjs build script without type declarations
import { BUILD_INPUTS, BUILD_OUTPUTS, isStale, writeStamp } from '../../scripts/build-if-stale.mjs';

const T0 = new Date('2026-01-01T00:00:00Z');
const later = (s: number) => new Date(T0.getTime() + s * 1000);

function tree() {
  const root = mkdtempSync(join(tmpdir(), 'wa-stale-'));
  const put = (rel: string, at: Date) => {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, rel);
    utimesSync(p, at, at);
    return p;
  };
  for (const f of ['src/cli.ts', 'src/store/db.ts', 'web/admin/main.tsx', 'tsconfig.json', 'package.json']) put(f, T0);
  for (const d of ['src/store', 'src', 'web/admin', 'web']) utimesSync(join(root, d), T0, T0);
  return { root, put, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('stale when an output is missing; fresh when every output is newer than every input', () => {
  const t = tree();
  try {
    assert.equal(isStale(t.root), true, 'no dist/ at all');
    t.put('dist/src/cli.js', later(10));
    t.put('dist/admin/index.html', later(10));
    assert.equal(isStale(t.root), true, 'no build stamp (a build that did not finish)');
    t.put('dist/.build-stamp', later(10));
    assert.equal(isStale(t.root), false);
  } finally {
    t.done();
  }
});

test('a source deep in src/, an admin page source or a build file newer than the build makes it stale', () => {
  for (const input of ['src/store/db.ts', 'web/admin/main.tsx', 'tsconfig.json', 'package.json']) {
    const t = tree();
    try {
      for (const o of BUILD_OUTPUTS as string[]) t.put(o, later(10));
      assert.equal(isStale(t.root), false);
      t.put(input, later(20));
      assert.equal(isStale(t.root), true, `${input} changed after the build`);
    } finally {
      t.done();
    }
  }
  assert.ok((BUILD_INPUTS as string[]).includes('package-lock.json'), 'a dependency change rebuilds too');
});

test('the oldest output dates the build: an interrupted build is redone', () => {
  const t = tree();
  try {
    t.put('dist/src/cli.js', later(30));
    t.put('dist/admin/index.html', later(30));
    t.put('dist/.build-stamp', later(5));
    t.put('src/cli.ts', later(10)); // changed after the stamp, before the half-written outputs
    assert.equal(isStale(t.root), true);
    writeStamp(t.root); // what `npm run build` does last
    assert.equal(isStale(t.root), false);
  } finally {
    t.done();
  }
});
