/** A bounded closed-loop HTTP load generator over keep-alive (node:http): N workers, each sends the next request when the last one ends. */
import http from 'node:http';

export interface LoadResult { requests: number; failures: number; seconds: number; perSecond: number; p50Ms: number; p99Ms: number }

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function closedLoop(opts: {
  url: string; headers: Record<string, string>; body: Buffer; concurrency: number; seconds: number; expectStatus?: number;
  check?: (body: Buffer) => boolean;
  /** Default POST; a GET sends no body. */
  method?: string;
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const u = new URL(opts.url);
  const until = performance.now() + opts.seconds * 1000;
  const latencies: number[] = [];
  let failures = 0;
  const one = () => new Promise<void>((resolve) => {
    const t0 = performance.now();
    const method = opts.method ?? 'POST';
    const req = http.request({ agent, method, hostname: u.hostname, port: u.port, path: u.pathname + u.search,
      headers: method === 'GET' ? opts.headers : { ...opts.headers, 'Content-Length': opts.body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ok = res.statusCode === (opts.expectStatus ?? 200) && (!opts.check || opts.check(Buffer.concat(chunks)));
        if (!ok) failures++;
        latencies.push(performance.now() - t0);
        resolve();
      });
    });
    req.on('error', () => { failures++; resolve(); });
    if (method === 'GET') req.end();
    else req.end(opts.body);
  });
  const start = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, async () => {
    while (performance.now() < until) await one();
  }));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, failures, seconds, perSecond: latencies.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
