/**
 * The service's own per-hook settings (wa_webhook_setting, migration 006): what NetServer's `webhook` table has no
 * column for. No row means every default. The rotation's previous secret is stored like webhook.secret, through
 * the SecretCodec (encrypted at rest when a key is configured; `secrets reencrypt` rewrites it too).
 *
 * Writers lock the webhook row first (lockWebhookState), so a setting and a save of the same hook take turns and
 * the insert-or-update below never races another writer of the same row.
 */
import type { Knex } from 'knex';
import { notFound } from '../errors.js';
import { signatureSchemes } from './migrations/006-receivers.js';
import { toInt, withTransaction, type Queryable, knexOf } from './row-mapping.js';
import type { SecretCodec } from './secret-codec.js';
import { lockWebhookState } from './webhook-repository.js';

export { signatureSchemes };
export type SignatureScheme = (typeof signatureSchemes)[number];

export interface WebhookSetting {
  signature: SignatureScheme;
  /** The secret before the last rotation (plaintext), signed with until previousSecretUntil; null when none. */
  previousSecret: string | null;
  /** Epoch ms at which the previous secret stops being signed with. */
  previousSecretUntil: number | null;
  /** X-SuperOffice-Signature keeps the previous secret until previousSecretUntil (`rotate-secret --netserver-old`). */
  previousSecretNetserver: boolean;
}

export const defaultSetting: WebhookSetting = { signature: 'netserver', previousSecret: null, previousSecretUntil: null, previousSecretNetserver: false };

export function isSignatureScheme(v: unknown): v is SignatureScheme {
  return typeof v === 'string' && (signatureSchemes as readonly string[]).includes(v);
}

/**
 * A row of wa_webhook_setting (or the nulls of a left join without one) as a setting; the previous secret is
 * decoded with `secrets` (throws AppError 'internal' when no configured key opens it).
 */
export function settingFromRow(r: Record<string, unknown>, secrets: SecretCodec): WebhookSetting {
  const stored = typeof r.previous_secret === 'string' && r.previous_secret !== '' ? r.previous_secret : null;
  return {
    signature: isSignatureScheme(r.signature) ? r.signature : 'netserver',
    previousSecret: stored === null ? null : secrets.decode(stored),
    previousSecretUntil: r.previous_secret_until === null || r.previous_secret_until === undefined ? null : toInt(r.previous_secret_until),
    previousSecretNetserver: Number(r.previous_secret_netserver ?? 0) === 1,
  };
}

/** The columns settingFromRow reads, from `wa_webhook_setting as s`. */
export const settingColumns = ['s.signature', 's.previous_secret', 's.previous_secret_until', 's.previous_secret_netserver'] as const;

export async function getWebhookSetting(db: Queryable, webhookId: number, opts: { secrets: SecretCodec }): Promise<WebhookSetting> {
  const row = (await knexOf(db)('wa_webhook_setting as s').where('s.webhook_id', webhookId).first(...settingColumns)) as
    Record<string, unknown> | undefined;
  return row ? settingFromRow(row, opts.secrets) : { ...defaultSetting };
}

async function writeSetting(trx: Knex.Transaction, webhookId: number, columns: Record<string, unknown>, at: number): Promise<void> {
  const n = await trx('wa_webhook_setting').where('webhook_id', webhookId).update({ ...columns, updated: at });
  if (n === 0) await trx('wa_webhook_setting').insert({ webhook_id: webhookId, ...columns, updated: at });
}

/** Sets the hook's signature scheme. Throws not_found when there is no such webhook. */
export async function setSignatureScheme(db: Queryable, webhookId: number, scheme: SignatureScheme, at: number): Promise<void> {
  await withTransaction(db, async (trx) => {
    if ((await lockWebhookState(trx, webhookId)) === null) throw notFound(`Webhook ${webhookId}`);
    await writeSetting(trx, webhookId, { signature: scheme }, at);
  });
}

export interface RotationInput {
  /** The new secret (plaintext). */
  secret: string;
  /** Until when (epoch ms) the secret it replaces is still signed with. */
  previousUntil: number;
  /** X-SuperOffice-Signature keeps the previous secret until then. */
  netserverOld: boolean;
}

/**
 * Replaces the hook's secret and keeps the one it replaces for the overlap (an earlier rotation's previous secret is
 * dropped: only the secret in force until now stays valid). A hook without a secret just gets one. Throws not_found
 * when there is no such webhook, AppError 'internal' when the current secret cannot be decrypted.
 */
export async function rotateWebhookSecret(db: Queryable, webhookId: number, r: RotationInput, at: Date, opts: { secrets: SecretCodec }): Promise<void> {
  await withTransaction(db, async (trx) => {
    if ((await lockWebhookState(trx, webhookId)) === null) throw notFound(`Webhook ${webhookId}`);
    const row = (await trx('webhook').where('webhook_id', webhookId).first('secret')) as { secret: string | null } | undefined;
    const current = opts.secrets.decode(row?.secret ?? null) || null;
    await trx('webhook').where('webhook_id', webhookId).update({ secret: opts.secrets.encode(r.secret) });
    await writeSetting(trx, webhookId, {
      previous_secret: current === null ? null : opts.secrets.encode(current),
      previous_secret_until: current === null ? null : r.previousUntil,
      previous_secret_netserver: current !== null && r.netserverOld ? 1 : 0,
    }, at.getTime());
  });
}
