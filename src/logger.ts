/**
 * The process logger (pino, JSON lines). Secrets never reach it: known secret-bearing keys are redacted wherever
 * they appear, and code logs ids, not tickets or webhook secrets.
 */
import { pino, type Logger } from 'pino';
import { isStorageFull } from './errors.js';

export type { Logger };

const redactPaths = [
  'ticket', '*.ticket', 'Ticket', '*.Ticket', 'password', '*.password', 'Password', '*.Password',
  'secret', '*.secret', 'Secret', '*.Secret', 'headers.authorization', '*.headers.authorization',
  'req.headers.authorization', 'req.headers.cookie',
];

/**
 * A full disk makes every write fail, and each failure would be logged with its stack wherever it surfaced (a face,
 * the worker's recording). The store reports the condition itself, once a minute at error (store/storage-watch.ts);
 * a line whose `err` is a storage-full failure is logged at debug, and never with a stack.
 */
const quietStorageFull = {
  logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void, level: number) {
    const first = args[0] as { err?: unknown } | null;
    if (first && typeof first === 'object' && isStorageFull(first.err)) {
      const err = first.err as { code?: unknown; number?: unknown; message?: unknown };
      const plain = { ...first, err: { code: err.code ?? err.number, message: String(err.message ?? '') } };
      if (level > 20) {
        if (this.isLevelEnabled('debug')) this.debug(plain, ...(args.slice(1) as []));
        return;
      }
      return method.apply(this, [plain, ...args.slice(1)]);
    }
    return method.apply(this, args);
  },
};

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { svc: 'webhook-agent' }, redact: { paths: redactPaths, censor: '[redacted]' }, hooks: quietStorageFull },
    destination as never,
  );
}
