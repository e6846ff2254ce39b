/**
 * The admin page's static files (built by `npm run build` into dist/admin from web/admin, scripts/build-admin.mjs),
 * served at /admin/ with a strict Content-Security-Policy: everything from this origin, nothing inline, no framing.
 * When the bundle has not been built, /admin/ says how to build it instead of failing obscurely.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

/** dist/admin of the package this file belongs to (src/admin under tsx, dist/src/admin when built). */
export function defaultAdminUiDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'admin');
}

const securityHeaders = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

export function createAdminPage(uiDir: string): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set(securityHeaders);
    next();
  });
  router.use(express.static(uiDir, { index: 'index.html', maxAge: 0, fallthrough: true, redirect: false }));
  router.get('/', (_req, res) => {
    if (existsSync(join(uiDir, 'index.html'))) res.sendFile(join(uiDir, 'index.html'));
    else res.status(503).type('text/plain').send(`The admin page is not built (${uiDir} is missing): run \`npm run build\`.\n`);
  });
  return router;
}
