#!/usr/bin/env node
// Bundles the admin page (web/admin: Preact + TypeScript + CSS) with esbuild into static files the server ships:
// index.html, favicon.svg, app.js, app.css. Run by `npm run build` (into dist/admin); the browser tests call buildAdmin() into a
// temporary directory. Nothing is fetched at run time.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function buildAdmin(outDir = join(root, 'dist', 'admin')) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(root, 'web', 'admin', 'main.tsx') },
    bundle: true,
    outdir: outDir,
    format: 'esm',
    target: ['es2022'],
    minify: true,
    sourcemap: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'favicon.svg']) copyFileSync(join(root, 'web', 'admin', file), join(outDir, file));
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildAdmin(process.argv[2]);
  console.log(`admin page built into ${out}`);
}
