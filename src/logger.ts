/**
 * The process logger (pino, JSON lines). Secrets never reach it: known secret-bearing keys are redacted wherever
 * they appear, and code logs ids, not tickets or webhook secrets.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const redactPaths = [
  'ticket', '*.ticket', 'Ticket', '*.Ticket', 'password', '*.password', 'Password', '*.Password',
  'secret', '*.secret', 'Secret', '*.Secret', 'headers.authorization', '*.headers.authorization',
  'req.headers.authorization', 'req.headers.cookie',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { svc: 'webhook-agent' }, redact: { paths: redactPaths, censor: '[redacted]' } },
    destination as never,
  );
}
