// Writes wsdl/*.wsdl from the contract model: npx tsx scripts/gen-wsdl.ts
// test/contract/wsdl-fresh.test.ts fails when the committed files differ from the model.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PUBLISHED, renderWsdl, wsdlFileName } from '../src/contract/index.js';

const outDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'wsdl');
mkdirSync(outDir, { recursive: true });
for (const { service, version } of PUBLISHED) {
  const file = path.join(outDir, wsdlFileName(service, version));
  writeFileSync(file, renderWsdl(service, version));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
