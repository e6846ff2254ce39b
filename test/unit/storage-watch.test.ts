import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStorageWatch, type StorageFullReport } from '../../src/store/storage-watch.js';

const full = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

test('storage watch: set by a storage-full failure, cleared by a write, reported at most once a minute', () => {
  let at = 1_000_000;
  const reports: StorageFullReport[] = [];
  const w = createStorageWatch((r) => reports.push(r), { now: () => at });
  w.failed(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }));
  assert.equal(w.fullSince, undefined, 'other failures do not count');
  const e = full();
  w.failed(e);
  w.failed(e);
  assert.equal(w.fullSince, 1_000_000);
  at += 30_000;
  w.failed(full());
  assert.equal(reports.length, 1, 'once within the minute');
  at += 31_000;
  w.failed(full());
  assert.deepEqual(reports.map((r) => r.failedWrites), [1, 2], 'the same error seen twice counts once');
  w.wrote();
  assert.equal(w.fullSince, undefined);
  w.failed(Object.assign(new Error('could not extend file'), { code: '53100' }));
  assert.equal(w.fullSince, at, 'PostgreSQL disk_full counts too');
});
