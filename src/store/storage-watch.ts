/**
 * Whether the database can write (issue 18, item 7). On a full disk every write fails; the faces answer "storage
 * full" (errors.ts), and this watch is the one place that knows it is happening: set by a storage-full failure,
 * cleared by the next write that succeeds. /readyz reports not ready while it is set (probing with a write, so
 * that an instance taken out of rotation notices when space is back), and the condition is reported once a minute,
 * not once per failed call with a stack.
 */
import { isStorageFull } from '../errors.js';

export interface StorageFullReport {
  code: string;
  message: string;
  /** Failed writes since the previous report (the first report: 1). */
  failedWrites: number;
  fullSinceMs: number;
}

export interface StorageWatch {
  /** When writes started failing for lack of space; undefined while they work. */
  readonly fullSince: number | undefined;
  /** A statement or transaction failed: counts it when it is a storage-full failure. */
  failed(err: unknown): void;
  /** A write went through: the storage is writable again. */
  wrote(): void;
}

export function createStorageWatch(onFull: (r: StorageFullReport) => void = () => undefined,
  opts: { reportEveryMs?: number; now?: () => number } = {}): StorageWatch {
  const every = opts.reportEveryMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let fullSince: number | undefined;
  let lastReport = -Infinity;
  let failedWrites = 0;
  // A statement's failure also fails its transaction: one failure, seen twice.
  const seen = new WeakSet<object>();
  return {
    get fullSince() { return fullSince; },
    failed(err) {
      if (!isStorageFull(err) || seen.has(err as object)) return;
      seen.add(err as object);
      const at = now();
      fullSince ??= at;
      failedWrites += 1;
      if (at - lastReport < every) return;
      lastReport = at;
      const e = err as { code?: unknown; number?: unknown; message?: unknown };
      onFull({ code: String(e.code ?? e.number ?? ''), message: String(e.message ?? ''), failedWrites, fullSinceMs: fullSince });
      failedWrites = 0;
    },
    wrote() {
      fullSince = undefined;
    },
  };
}
