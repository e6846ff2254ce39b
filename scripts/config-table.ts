// Prints the configuration table of docs/configuration.md from src/config.ts: `npx tsx scripts/config-table.ts`.
import { configKeys } from '../src/config.js';

console.log('| key (JSON file) | environment | default | meaning |');
console.log('|---|---|---|---|');
for (const [key, [env, schema, doc]] of Object.entries(configKeys)) {
  const parsed = (schema as { safeParse(v: unknown): { success: boolean; data?: unknown } }).safeParse(undefined);
  const dflt = parsed.success && parsed.data !== undefined ? JSON.stringify(parsed.data) : '(unset)';
  console.log(`| \`${key}\` | \`${env}\` | \`${dflt}\` | ${doc} |`);
}
