// Writes soapui/webhook-agent-soapui-project.xml from the contract model: npx tsx scripts/gen-soapui.ts
// test/integration/soapui-project.test.ts fails when the committed file differs, and runs its TestSuite.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSoapUiProject, SOAPUI_PROJECT_FILE } from './soapui-project.js';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', SOAPUI_PROJECT_FILE);
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, await buildSoapUiProject());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
