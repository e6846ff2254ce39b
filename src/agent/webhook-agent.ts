/**
 * The Webhook agent's operations in domain terms (camelCase, domain types). The SOAP handlers map the wire to
 * these calls and back; this layer owns the order of things: validate, check the target, ping, save, enqueue.
 */
import type { Config } from '../config.js';
import type { Database } from '../store/db.js';
import { AppError, isTransactionConflict, notFound } from '../errors.js';
import {
  createWebhook, updateWebhook, getWebhook, listWebhooks, deleteWebhook, getLastError, lockWebhookState, resetConsecutiveErrors,
} from '../store/webhook-repository.js';
import { webhookPage, type WebhookPage } from '../store/webhook-page.js';
import { checkWebhookPageQuery, type WebhookPageInput } from './input-checks.js';
import {
  cancelDeliveriesFor, enqueueIdempotent, enqueueSignalledEvent, fireStateEvent, notifyOutbox, releaseParkedDeliveries,
} from '../outbox/index.js';
import { checkIdempotencyKey } from './input-checks.js';
import type { SecretCodec } from '../store/secret-codec.js';
import { saveNeedsPing } from '../webhooks/save-ping.js';
import { outsideXsInt } from '../webhooks/xs-int.js';
import { checkValueDepth, validateWebhook, validateEventName, validateTargetUrl, type WebhookDraft } from '../webhooks/validate.js';
import type { AssociateSummary, PropertyValue, Webhook, WebhookFilter } from '../webhooks/types.js';

export interface TestResult { success: boolean; message: string }

const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 3600_000;

/** The target-facing capabilities the agent needs (implemented by delivery/). */
export interface TargetPort {
  /** Save-time policy check of a URL (scheme, literal addresses, allowlist); a message when refused. */
  checkTargetUrl(url: string): Promise<string | null> | string | null;
  /** A real signed POST of the `test` event. */
  sendTestEvent(hook: { name: string; targetUrl: string; secret: string | null; headers: Record<string, string> | null;
    properties: Record<string, PropertyValue> | null }, associateId: number): Promise<{ ok: boolean; message: string }>;
}

export interface WebhookAgentDeps {
  db: Database;
  config: Pick<Config, 'allowInsecureTargets' | 'pingOnSave'> & Partial<Pick<Config, 'idempotencyKeyTtlMs'>>;
  target: TargetPort;
  /** How webhook secrets are stored (encrypted at rest when a key is configured). */
  secrets: SecretCodec;
  /** Called after SignalEvent commits (with the webhooks that got a delivery), so an in-process worker starts at once. */
  wake?: (webhookIds?: readonly number[]) => void;
  now?: () => Date;
  /** Where a state change made through the agent (re-activation, stop) is logged at warn. */
  logger?: { warn(obj: object, msg: string): void; error?(obj: object, msg: string): void };
}

export function createDefaultWebhook(): Webhook {
  return {
    webhookId: 0, name: '', events: ['contact.created', 'contact.deleted'], targetUrl: '', secret: null, state: 'Active',
    type: 'webhook', headers: null, properties: null, registered: new Date(0), registeredAssociate: null, updated: null,
    updatedAssociate: null, errorsEmail: null, errorEmails: null, errorAssociateIds: null, description: null,
    notifyVia: [], notifyWhen: [], totalCalls: 0, totalErrors: 0, consecutiveErrors: 0, lastError: null,
  };
}

/**
 * On update, an element the request omits keeps its stored value and a nil one clears it. WCF proxies send every
 * member, so nothing changes for them; zeep omits unset members; and a Services85-87 client, which cannot see
 * ErrorsEmail..LastError, does not wipe what a Services88 client set.
 */
export function withStoredValues(draft: WebhookDraft, stored: Webhook): WebhookDraft {
  const merged: Record<string, unknown> = { ...draft };
  const keys: Array<keyof WebhookDraft> = ['name', 'events', 'targetUrl', 'secret', 'type', 'headers', 'properties', 'errorsEmail',
    'errorEmails', 'errorAssociateIds', 'description', 'notifyVia', 'notifyWhen'];
  for (const k of keys) if (draft[k] === undefined) merged[k] = stored[k as keyof Webhook];
  if (draft.keepHeaderValues?.length) merged.headers = keptHeaderValues(draft, stored.headers);
  return merged as WebhookDraft;
}

/** The draft's headers with the stored value of each name in keepHeaderValues (names compared without case). */
function keptHeaderValues(draft: WebhookDraft, stored: Record<string, string> | null): Record<string, string> {
  const byName = new Map(Object.entries(stored ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const out: Record<string, string> = { ...draft.headers };
  for (const name of draft.keepHeaderValues ?? []) {
    const value = byName.get(name.trim().toLowerCase());
    if (value === undefined) throw new AppError('invalid_argument', `Headers: '${name.slice(0, 80)}' has no stored value to keep; give its value`, { field: 'Headers' });
    const key = Object.keys(out).find((k) => k.trim().toLowerCase() === name.trim().toLowerCase()) ?? name;
    out[key] = value;
  }
  return out;
}

/** Runs fn again (up to 3 tries in all) when the database rolled it back as a deadlock or serialization victim. */
async function retryOnConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 3 || !isTransactionConflict(err)) throw err;
    }
  }
}

export function createWebhookAgent(deps: WebhookAgentDeps) {
  const { db, config, target } = deps;
  const secretOpts = { secrets: deps.secrets };
  const now = deps.now ?? (() => new Date());

  /** The stored webhook as it is, or an error naming it when it cannot be written to a client (outsideXsInt). */
  function answerable(w: Webhook): Webhook {
    const why = outsideXsInt(w);
    if (why === null) return w;
    throw new AppError('not_supported', `Webhook ${w.webhookId} cannot be answered: ${why}`);
  }

  /** The list without the webhooks no client can read, each logged by id at error (one bad row must not fail every list). */
  function answerableOnly(list: Webhook[]): Webhook[] {
    const out: Webhook[] = [];
    for (const w of list) {
      const why = outsideXsInt(w);
      if (why === null) out.push(w);
      else deps.logger?.error?.({ webhookId: w.webhookId }, `webhook ${w.webhookId} left out of a webhook list: ${why} (\`webhook-agent webhooks show ${w.webhookId}\` shows it)`);
    }
    return out;
  }

  async function assertTargetAllowed(url: string): Promise<void> {
    const refused = await target.checkTargetUrl(url);
    if (refused) throw new AppError('invalid_argument', `TargetUrl: ${refused}`, { field: 'TargetUrl' });
  }

  /** One read-ping-write pass of saveWebhook; null when the write found a ping due that this pass did not send. */
  async function savePass(id: number, draft: WebhookDraft, by: AssociateSummary): Promise<Webhook | null> {
    // Read before the transaction, because validation needs the stored values (omitted members keep them) and the
    // ping uses them, and the ping is an HTTP call no transaction may stay open across. Another save of this hook
    // may commit meanwhile (a slow ping leaves seconds for that), so the state is decided again below, from the
    // row as locked.
    const existing = id > 0 ? await getWebhook(db.knex, id, secretOpts) : null;
    if (id > 0 && !existing) throw notFound(`Webhook ${id}`);
    if (!existing && draft.keepHeaderValues?.length) {
      throw new AppError('invalid_argument', 'Headers: a new webhook has no stored header values to keep; give each value', { field: 'Headers' });
    }
    // Refused before anything is written: saved, it could not be answered (a commit followed by an error answer
    // makes a retrying client save twice).
    if (existing) answerable(existing);
    const input = validateWebhook(existing ? withStoredValues(draft, existing) : draft,
      { allowInsecureTargets: config.allowInsecureTargets, existingState: existing?.state });
    const keepsState = (draft.state ?? 'Unknown') === 'Unknown';
    await assertTargetAllowed(input.targetUrl);
    const pinged = config.pingOnSave && saveNeedsPing(input, existing);
    if (pinged) {
      const ping = await target.sendTestEvent(input, by.associateId);
      if (!ping.ok) {
        throw new AppError('target_refused', `TargetUrl did not accept the test event, so the webhook was not saved: ${ping.message}`,
          { field: 'TargetUrl', friendlyText: 'The webhook target did not answer the test event with 200 OK' });
      }
    }
    const at = now();
    const pingDue = new Error('a ping is due that this pass did not send');
    // The transaction only touches the database (the ping is done), so when the database breaks a lock cycle by
    // rolling it back (a worker turning this hook TooManyErrors locks usage, then webhook: the other order), it is
    // run again instead of failing the save.
    let written: { savedId: number; change: { from: string; to: string } | null };
    try {
      written = await retryOnConflict(() => db.knex.transaction(async (trx) => {
        if (id === 0) return { savedId: await createWebhook(trx, input, at, by.associateId, secretOpts), change: null };
        // The state as committed by whoever saved last, locked until this transaction ends (lockWebhookState), so
        // that concurrent saves take turns: each decides started/stopped, the error-count reset and the ping from
        // what the previous one left, and the state events go out in the order the changes commit. An omitted
        // State keeps this state, not the one read before the ping.
        const lockedState = await lockWebhookState(trx, id);
        if (lockedState === null) throw notFound(`Webhook ${id}`);
        const row = keepsState ? { ...input, state: lockedState } : input;
        if (config.pingOnSave && !pinged && saveNeedsPing(row, existing, lockedState)) throw pingDue;
        if (!(await updateWebhook(trx, id, row, at, by.associateId, secretOpts))) throw notFound(`Webhook ${id}`);
        if (lockedState !== row.state) {
          // A hook made Active again starts a fresh error count (else its next failure would disable it at once),
          // and NetServer announces the change as webhook{id}.started / .stopped.
          if (row.state === 'Active') {
            await resetConsecutiveErrors(trx, id);
            // Its parked deliveries are due at the commit, not when their old backoff ends; wake workers in other
            // processes to claim them.
            await releaseParkedDeliveries(trx, id, at.getTime());
            await notifyOutbox(trx);
          }
          const verb = row.state === 'Active' ? 'started' : row.state === 'Stopped' ? 'stopped' : null;
          if (verb) await fireStateEvent(trx, id, verb, { now: at.getTime() });
        }
        return { savedId: id, change: lockedState === row.state ? null : { from: lockedState, to: row.state } };
      }));
    } catch (err) {
      if (err === pingDue) return null;
      throw err;
    }
    const { savedId, change } = written;
    const saved = await getWebhook(db.knex, savedId, secretOpts);
    if (!saved) throw notFound(`Webhook ${savedId}`);
    if (change) {
      deps.logger?.warn({ webhookId: saved.webhookId, webhookName: saved.name, ...change, byAssociateId: by.associateId },
        `webhook state changed: ${change.to}${change.to === 'Active' ? ' (parked deliveries drain now)' : ''}`);
    }
    // A hook made Active again drains its parked deliveries: wake the worker.
    if (saved.state === 'Active') deps.wake?.();
    return saved;
  }

  return {
    createDefaultWebhook,

    async saveWebhook(draft: WebhookDraft, by: AssociateSummary): Promise<Webhook> {
      const id = draft.webhookId ?? 0;
      if (!Number.isInteger(id) || id < 0) throw new AppError('invalid_argument', 'WebhookId: must be 0 (new) or an existing id', { field: 'WebhookId' });
      // A pass ends without a save when its transaction finds the hook changed since the read so that a ping is due
      // that the pass did not send (another save made it Active meanwhile): the next pass reads again and pings.
      for (let pass = 1; ; pass++) {
        const r = await savePass(id, draft, by);
        if (r) return r;
        if (pass >= 3) throw new AppError('conflict', `Webhook ${id} kept changing while it was being saved; nothing was changed. Try again.`);
      }
    },

    async getWebhook(id: number): Promise<Webhook> {
      const hook = await getWebhook(db.knex, id, secretOpts);
      if (!hook) throw notFound(`Webhook ${id}`);
      return answerable(hook);
    },

    async deleteWebhook(id: number): Promise<void> {
      const deleted = await deleteWebhook(db.knex, id, (trx) => cancelDeliveriesFor(trx, id));
      if (!deleted) throw notFound(`Webhook ${id}`);
    },

    async listWebhooks(filter: WebhookFilter): Promise<Webhook[]> {
      return answerableOnly(await listWebhooks(db.knex, filter, secretOpts));
    },

    /** One page of hooks matching a search text and a state (store/webhook-page.ts), with the total. */
    webhookPage(query: WebhookPageInput): Promise<WebhookPage & { offset: number; limit: number }> {
      const q = checkWebhookPageQuery(query);
      return webhookPage(db.knex, q, secretOpts).then((page) => ({ ...page, offset: q.offset, limit: q.limit }));
    },

    async getLastError(id: number): Promise<string> {
      const err = await getLastError(db.knex, id);
      if (err === undefined) throw notFound(`Webhook ${id}`);
      return err ?? '';
    },

    async testWebhook(draft: WebhookDraft, by: AssociateSummary): Promise<TestResult> {
      const url = validateTargetUrl(draft.targetUrl, config.allowInsecureTargets);
      const refused = await target.checkTargetUrl(url);
      if (refused) return { success: false, message: `TargetUrl refused: ${refused}` };
      const r = await target.sendTestEvent({
        name: draft.name ?? '', targetUrl: url, secret: draft.secret || null, headers: draft.headers ?? null,
        properties: draft.properties ?? null,
      }, by.associateId);
      return { success: r.ok, message: r.message };
    },

    /**
     * Enqueues the event for its Active subscribers; how many deliveries. With an idempotency key, a repeat of the
     * same request by the same associate within IDEMPOTENCY_KEY_TTL_MS enqueues nothing and returns what the first
     * one did (outbox/enqueue-idempotent.ts).
     */
    async signalEvent(eventName: string, primaryKey: number, data: Record<string, PropertyValue>, by: AssociateSummary,
      opts: { idempotencyKey?: string } = {}): Promise<number> {
      const name = validateEventName('EventName', eventName);
      checkValueDepth('Data', data);
      const key = checkIdempotencyKey(opts.idempotencyKey);
      const at = now();
      const event = { eventName: name, primaryKey, data, changedByAssociateId: by.associateId, timestamp: at };
      const result = key === null
        ? await enqueueSignalledEvent(db, event)
        : await enqueueIdempotent(db, event, key, { now: at.getTime(), ttlMs: config.idempotencyKeyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS });
      if (result.deliveries > 0 && !('replayed' in result && result.replayed)) deps.wake?.(result.webhookIds);
      return result.deliveries;
    },
  };
}

export type WebhookAgent = ReturnType<typeof createWebhookAgent>;
