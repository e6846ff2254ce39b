import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const faces = ['**/soap/**', '**/rest/**', '**/admin/**'];
const top = ['**/cli.js', '**/cli-*.js', '**/app.js'];
/** Outside src/outbox/, the outbox is reached through its index only. */
const outboxInside = { group: ['**/outbox/**', '!**/outbox/index.js'], message: 'use the outbox through src/outbox/index.ts' };
const banned = (...groups) => groups.map((g) => (typeof g === 'string' ? { group: [g], message: `layering: ${g} is not for this folder` } : g));

function layerRules() {
  const rule = (files, patterns) => ({
    files,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  });
  return [
    // The faces speak wire formats and call agent/; besides it they may use the shared leaves: contract/ (the wire
    // model), webhooks/ (pure domain: types, validation), errors.ts, metrics/ (counts what a face does), and the
    // admin API rest/'s HTTP helpers (credentials, same-origin check).
    rule(['src/soap/**', 'src/rest/**', 'src/admin/**'], [
      ...banned('**/store/**', '**/outbox/**', '**/sources/**', '**/crm/**', '**/config.js', ...top),
      { group: ['**/auth/**'], allowTypeImports: true, message: 'layering: faces reach auth/ through agent/ (types only here)' },
    ]),
    // The application layer: no face, nothing above it.
    rule(['src/agent/**'], [...banned(...faces, ...top), outboxInside]),
    // store/ is below the outbox and the agent.
    rule(['src/store/**'], banned(...faces, ...top, '**/agent/**', '**/outbox/**', '**/auth/**', '**/metrics/**')),
    // The pure domain and the wire model import nothing with I/O.
    rule(['src/webhooks/**', 'src/contract/**'],
      banned(...faces, ...top, '**/agent/**', '**/outbox/**', '**/store/**', '**/auth/**', '**/metrics/**')),
    // The outbox is below the agent and the faces.
    rule(['src/outbox/**'], banned(...faces, ...top, '**/agent/**', '**/metrics/**')),
    rule(['src/metrics/**', 'src/auth/**'], [...banned(...top), outboxInside]),
    // The CRM event source (crm/): beside agent/, below the faces; it enqueues through the outbox's index.
    rule(['src/crm/**'], [...banned(...faces, ...top, '**/agent/**', '**/metrics/**'), outboxInside]),
    // Nothing imports the entry points; cli*.ts and app.ts reach the outbox through its index too.
    rule(['src/*.ts'], [{ group: ['./cli.js'], message: 'layering: nothing imports cli.ts' }, outboxInside]),
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tmp/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Layers (docs/architecture.md). One rule per folder, on the import paths (a type-only import of auth/ is allowed
  // in the faces: cli.ts builds the AuthService and passes it in; the faces only name its type).
  ...layerRules(),
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } } },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: Object.fromEntries(['process', 'console', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval',
        'clearInterval', 'setImmediate', 'globalThis', 'performance'].map((k) => [k, 'readonly'])),
    },
  },
);
