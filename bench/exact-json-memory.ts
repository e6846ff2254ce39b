/**
 * Heap held per parsed Properties value: our lossless reader (parseExact, used for every stored Properties and
 * Headers blob, and by the NetServer import) against JSON.parse as the baseline, for the same texts. Before strings
 * were flattened, a 300-character value held ~9 KB (a rope of one node per character) and a 100,000-hook import
 * peaked at 1.75 GB; the ratio printed is what to watch, absolute bytes depend on V8.
 *
 *   node --disable-proto=delete --import tsx bench/exact-json-memory.ts [values]
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseExact } from '../src/webhooks/exact-json.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heldPerValue(parse: (s: string) => unknown, texts: string[]): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = texts.map(parse);
  gc();
  const held = (process.memoryUsage().heapUsed - before) / texts.length;
  if (kept.length !== texts.length) throw new Error('unreachable');
  return held;
}

export function runExactJsonMemoryBench(values = 20_000): void {
  // Distinct texts (a shared one would be parsed into shared strings by neither reader), as rows of a table are.
  const texts = Array.from({ length: values }, (_, i) => JSON.stringify({
    tenant: `${'x'.repeat(200)}${i}`, nested: { a: [1, 2, i], b: `${'y'.repeat(100)}${i}` }, big: 12345678901234567890n.toString(),
  }));
  const baseline = heldPerValue((s) => JSON.parse(s), texts);
  const ours = heldPerValue(parseExact, texts);
  console.log(`${values} values of ${texts[0].length} chars: JSON.parse holds ${baseline.toFixed(0)} B each, parseExact ${ours.toFixed(0)} B ` +
    `(ratio ${(ours / baseline).toFixed(2)})`);
}

if (import.meta.url === `file://${process.argv[1]}`) runExactJsonMemoryBench(Number(process.argv[2] ?? 20_000));
