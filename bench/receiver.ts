/**
 * The webhook receiver of the benchmarks: HTTP on 127.0.0.1 that reads each request's JSON body, tells onBody with
 * the arrival time (performance.now()) and answers 200 "ok"; with `hang`, it accepts and reads but never answers
 * (a target that leaves every attempt waiting for its timeout). The tests' receiver
 * (test/reliability/support/receiver.ts) keeps every delivery and a span per request with millisecond clock times;
 * a benchmark sending tens of thousands needs sub-millisecond arrival times and nothing kept but what it counts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchReceiver {
  url: string;
  /** Bodies received (and answered) so far. */
  count: number;
  onBody: (body: Record<string, unknown>, at: number) => void;
  close(): Promise<void>;
}

export async function startBenchReceiver(opts: { hang?: boolean; keepAliveMs?: number } = {}): Promise<BenchReceiver> {
  const rx: BenchReceiver = { url: '', count: 0, onBody: () => {}, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (opts.hang) return;
      const at = performance.now();
      rx.count++;
      rx.onBody(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, at);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
  });
  if (opts.keepAliveMs !== undefined) server.keepAliveTimeout = opts.keepAliveMs;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  rx.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  rx.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return rx;
}
