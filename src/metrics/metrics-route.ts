/**
 * GET /metrics as an express handler, optionally behind a bearer token (METRICS_TOKEN), and the small app a
 * separate metrics port (METRICS_PORT) or a `worker` process serves.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import type { Metrics } from './metrics.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function metricsHandler(metrics: Metrics, opts: { token?: string; onError?: (err: unknown) => void } = {}): RequestHandler {
  const expected = opts.token ? digest(opts.token) : null;
  return (req, res) => {
    if (expected) {
      const m = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
      if (!m || !timingSafeEqual(digest(m[1].trim()), expected)) {
        res.status(401).set('WWW-Authenticate', 'Bearer realm="metrics"').type('text/plain').send('metrics need Authorization: Bearer <METRICS_TOKEN>\n');
        return;
      }
    }
    metrics.scrape().then((text) => {
      res.set('Cache-Control', 'no-store').type(metrics.contentType).send(text);
    }, (err: unknown) => {
      opts.onError?.(err);
      res.status(500).type('text/plain').send('metrics could not be collected\n');
    });
  };
}

/** /metrics and /healthz alone (METRICS_PORT, `worker`). */
export function createMetricsApp(metrics: Metrics, opts: { token?: string; onError?: (err: unknown) => void } = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/metrics', metricsHandler(metrics, opts));
  app.use((_req, res) => { res.status(404).type('text/plain').send('Not found: /metrics, /healthz\n'); });
  return app;
}
