/**
 * `secrets reencrypt`: rewrites every stored webhook secret in the form the codec writes now: encrypted with the
 * current key (plaintext and old-key values alike), or plaintext when no key is configured (turning encryption
 * off). Idempotent: a value already in the current form is left alone, so running it twice changes nothing.
 *
 * Batches by webhook_id (keyset, one short transaction each), so a large table never holds long locks. Each row is
 * updated only if it still holds the value that was read: a SaveWebhook in between wins, and is counted as skipped
 * (run the command again to cover it). The row's updated/updatedCount columns are not touched: this is not an edit
 * of the webhook. A value no configured key opens is left as it is and reported by id.
 *
 * The previous secrets of rotations (wa_webhook_setting.previous_secret) are covered the same way, after the
 * webhooks; the counts include them (a hook in a rotation's overlap counts twice).
 */
import { AppError } from '../errors.js';
import { dialectOfKnex, knexOf, toInt, withTransaction, type Queryable } from './row-mapping.js';
import type { SecretCodec } from './secret-codec.js';

export interface ReencryptResult {
  /** Webhook rows looked at. */
  scanned: number;
  /** Secrets rewritten in the current form. */
  rewritten: number;
  /** Rows already in the current form, or without a secret. */
  unchanged: number;
  /** Rows whose secret changed between the read and the update (a concurrent save): left to that save. */
  skipped: number;
  /** Ids of webhooks whose secret no configured key decrypts (left as they are). */
  unreadable: number[];
}

export async function reencryptSecrets(
  db: Queryable,
  secrets: SecretCodec,
  opts: { batchSize?: number; onBatch?: (progress: ReencryptResult) => void } = {},
): Promise<ReencryptResult> {
  const result: ReencryptResult = { scanned: 0, rewritten: 0, unchanged: 0, skipped: 0, unreadable: [] };
  await reencryptColumn(db, secrets, 'webhook', 'secret', result, opts);
  await reencryptColumn(db, secrets, 'wa_webhook_setting', 'previous_secret', result, opts);
  return result;
}

async function reencryptColumn(
  db: Queryable,
  secrets: SecretCodec,
  table: string,
  column: string,
  result: ReencryptResult,
  opts: { batchSize?: number; onBatch?: (progress: ReencryptResult) => void },
): Promise<void> {
  const batchSize = Math.max(1, opts.batchSize ?? 200);
  const k = knexOf(db);
  // SQL Server's default collation compares case-insensitively; the check must see any change to the value.
  const sameValue = dialectOfKnex(k) === 'mssql' ? '?? = ? collate Latin1_General_BIN2' : '?? = ?';
  let after = 0;
  for (;;) {
    const rows = (await k(table)
      .select('webhook_id', `${column} as secret`)
      .where('webhook_id', '>', after)
      .orderBy('webhook_id')
      .limit(batchSize)) as Array<{ webhook_id: unknown; secret: string | null }>;
    if (rows.length === 0) break;
    after = toInt(rows[rows.length - 1].webhook_id);
    result.scanned += rows.length;

    const updates: Array<{ id: number; from: string; to: string | null }> = [];
    for (const r of rows) {
      if (!secrets.needsReencrypt(r.secret) || r.secret === null) {
        result.unchanged++;
        continue;
      }
      try {
        updates.push({ id: toInt(r.webhook_id), from: r.secret, to: secrets.encode(secrets.decode(r.secret)) });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        result.unreadable.push(toInt(r.webhook_id));
      }
    }
    if (updates.length > 0) {
      await withTransaction(db, async (trx) => {
        for (const u of updates) {
          const n = await trx(table).where('webhook_id', u.id).whereRaw(sameValue, [column, u.from]).update({ [column]: u.to });
          if (n > 0) result.rewritten++;
          else result.skipped++;
        }
      });
    }
    opts.onBatch?.({ ...result, unreadable: [...result.unreadable] });
    if (rows.length < batchSize) break;
  }
}
