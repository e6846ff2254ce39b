// The committed wsdl/ files are exactly what the model renders: regenerate them with
// `npx tsx scripts/gen-wsdl.ts` instead of editing them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PUBLISHED, renderWsdl, wsdlFileName } from '../../src/contract/index.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

for (const { service, version } of PUBLISHED) {
  const name = wsdlFileName(service, version);
  test(`wsdl/${name} is up to date with src/contract`, () => {
    const committed = readFileSync(path.join(repoRoot, 'wsdl', name), 'utf8');
    assert.ok(committed === renderWsdl(service, version),
      `wsdl/${name} differs from the model; run: npx tsx scripts/gen-wsdl.ts`);
  });
}
