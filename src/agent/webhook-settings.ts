/**
 * The per-hook settings of this service (store/webhook-settings.ts) as operations: the signature scheme and secret
 * rotation. The CLI (`webhooks set`, `webhooks rotate-secret`) and the admin API call these.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../store/db.js';
import { invalidArgument, notFound } from '../errors.js';
import type { SecretCodec } from '../store/secret-codec.js';
import { getWebhook } from '../store/webhook-repository.js';
import {
  getWebhookSetting, isSignatureScheme, rotateWebhookSecret, setSignatureScheme, signatureSchemes, type SignatureScheme,
  type WebhookSetting,
} from '../store/webhook-settings.js';

export const DEFAULT_OVERLAP_MS = 24 * 3600_000;
/** The longest overlap: a previous secret valid for longer would be no rotation at all. */
export const MAX_OVERLAP_MS = 30 * 24 * 3600_000;
const MAX_SECRET_LENGTH = 400;

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 24 * 3600_000 };

/** `90s`, `30m`, `24h`, `7d`, `500ms` (or plain milliseconds) -> milliseconds. */
export function parseDurationMs(field: string, text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw invalidArgument(field, `'${text.slice(0, 40)}' is not a duration such as 24h, 30m, 90s or 7d`);
  return Number(m[1]) * units[m[2] ?? 'ms'];
}

/** A new secret in Standard Webhooks' form: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface RotateSecretOptions {
  /** The new secret; generated (generateSecret) when omitted. */
  secret?: string;
  overlapMs?: number;
  /** X-SuperOffice-Signature keeps the previous secret until the overlap ends. */
  netserverOld?: boolean;
}

export interface RotateSecretResult {
  /** The new secret (to hand to the receiver). */
  secret: string;
  generated: boolean;
  /** When the previous secret stops being signed with; null when the hook had no secret before. */
  previousUntil: Date | null;
}

/** What a face shows of a setting: never the previous secret itself. */
export interface SettingView {
  signature: SignatureScheme;
  rotation: { previousUntil: string; netserverOld: boolean } | null;
}

export function settingView(s: WebhookSetting, nowMs: number): SettingView {
  const overlapping = s.previousSecret !== null && s.previousSecretUntil !== null && nowMs < s.previousSecretUntil;
  return {
    signature: s.signature,
    rotation: overlapping ? { previousUntil: new Date(s.previousSecretUntil as number).toISOString(), netserverOld: s.previousSecretNetserver } : null,
  };
}

export function createWebhookSettings(deps: { db: Pick<Database, 'knex'>; secrets: SecretCodec; now?: () => Date }) {
  const { db, secrets } = deps;
  const now = deps.now ?? (() => new Date());
  const opts = { secrets };
  return {
    async get(webhookId: number): Promise<SettingView> {
      if (!(await getWebhook(db.knex, webhookId, { secrets: presenceOnly }))) throw notFound(`Webhook ${webhookId}`);
      return settingView(await getWebhookSetting(db.knex, webhookId, opts), now().getTime());
    },

    async setSignature(webhookId: number, scheme: string): Promise<void> {
      if (!isSignatureScheme(scheme)) throw invalidArgument('Signature', `one of ${signatureSchemes.join(', ')} (got '${String(scheme).slice(0, 40)}')`);
      await setSignatureScheme(db.knex, webhookId, scheme, now().getTime());
    },

    async rotateSecret(webhookId: number, o: RotateSecretOptions = {}): Promise<RotateSecretResult> {
      const overlapMs = o.overlapMs ?? DEFAULT_OVERLAP_MS;
      if (!Number.isSafeInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_OVERLAP_MS) {
        throw invalidArgument('Overlap', `between 0 and ${MAX_OVERLAP_MS / (24 * 3600_000)} days`);
      }
      const generated = o.secret === undefined;
      const secret = o.secret ?? generateSecret();
      if (secret === '') throw invalidArgument('Secret', 'must not be empty');
      if (secret.length > MAX_SECRET_LENGTH) throw invalidArgument('Secret', `is longer than ${MAX_SECRET_LENGTH} characters`);
      const at = now();
      const before = await getWebhook(db.knex, webhookId, { secrets: presenceOnly });
      if (!before) throw notFound(`Webhook ${webhookId}`);
      const previousUntil = at.getTime() + overlapMs;
      await rotateWebhookSecret(db.knex, webhookId, { secret, previousUntil, netserverOld: !!o.netserverOld }, at, opts);
      return { secret, generated, previousUntil: before.secret === null ? null : new Date(previousUntil) };
    },
  };
}

export type WebhookSettings = ReturnType<typeof createWebhookSettings>;

/** Reads only whether a secret is stored; never decrypts it. */
export const presenceOnly: SecretCodec = {
  encode: () => { throw new Error('read-only'); },
  decode: (stored) => (stored === null || stored === '' ? null : 'set'),
  needsReencrypt: () => false,
  keyId: null,
};
