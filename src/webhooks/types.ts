/**
 * Domain types of the webhook agent.
 *
 * Glossary
 * - webhook: a subscription: a target URL, the event names it listens to, a secret, custom headers and properties,
 *   and a state. Rows of NetServer's `webhook` table.
 * - event: something that happened, signalled through SignalEvent (or fired by the agent itself, e.g.
 *   `webhook{id}.errors`). Has a name `entity.verb`, a primary key and data.
 * - delivery: one event owed to one webhook. Has one EventId for all of its attempts, so receivers can deduplicate.
 * - attempt: one HTTP POST of a delivery, with its outcome (status, duration, error class).
 * - cycle: NetServer's three attempts (now, +1 s, +4 s). After the first cycle we keep retrying on a backoff schedule.
 * - ticket: a `7T:` credential from SoPrincipal.AuthenticateUsernamePassword, valid 6 h, renewed on use.
 * - associate: a user that can log in; recorded as Registered/UpdatedAssociate on webhooks.
 */
import type { ExactNumber } from './exact-json.js';

export const webhookStates = ['Unknown', 'Active', 'Stopped', 'TooManyErrors'] as const;
export type WebhookState = (typeof webhookStates)[number];
/** NetServer stores the state as a 16-bit enum: 0 Unknown, 1 Active, 2 Stopped, 3 TooManyErrors. */
export const stateToInt = (s: WebhookState): number => webhookStates.indexOf(s);
export const stateFromInt = (n: number): WebhookState => webhookStates[n] ?? 'Unknown';
/** The stored codes by name, for SQL that compares the column (the compiler checks them against webhookStates). */
export const STATE_CODE = { Unknown: 0, Active: 1, Stopped: 2, TooManyErrors: 3 } as const satisfies { [S in WebhookState]: number };

export const notifyViaFlags = ['Email', 'InApp'] as const; // 1, 2
export const notifyWhenFlags = ['FirstFailure', 'Disabling'] as const; // 1, 2
export type NotifyVia = (typeof notifyViaFlags)[number];
export type NotifyWhen = (typeof notifyWhenFlags)[number];

/** Flag names <-> NetServer's bit values (Email=1, InApp=2; FirstFailure=1, Disabling=2). */
export function flagsToInt<T extends string>(all: readonly T[], flags: readonly T[]): number {
  return flags.reduce((n, f) => n | (1 << all.indexOf(f)), 0);
}
export function flagsFromInt<T extends string>(all: readonly T[], n: number): T[] {
  return all.filter((_, i) => (n & (1 << i)) !== 0);
}

/**
 * A value of a StringObjectDictionary (Properties, SignalEvent Data): any JSON value (nested objects and arrays as
 * sent, their keys in order), plus dates; bigint and ExactNumber keep the digits of an xs:long or xs:decimal
 * (exact-json.ts).
 */
export type PropertyValue = string | number | bigint | ExactNumber | boolean | null | Date | PropertyValue[] | PropertyObject;
export interface PropertyObject { [key: string]: PropertyValue }

export interface AssociateSummary {
  associateId: number;
  name: string;
  fullName: string;
  userName: string;
  personId: number;
  deleted: boolean;
}

/** What a caller may set on a webhook (SaveWebhook input after validation). */
export interface WebhookInput {
  name: string;
  events: string[];
  targetUrl: string;
  secret: string | null;
  state: Exclude<WebhookState, 'Unknown'>;
  type: string;
  headers: Record<string, string> | null;
  properties: Record<string, PropertyValue> | null;
  errorsEmail: string | null;
  errorEmails: string[] | null;
  errorAssociateIds: number[] | null;
  description: string | null;
  notifyVia: NotifyVia[];
  notifyWhen: NotifyWhen[];
}

/** A stored webhook with its usage counters (webhook + webhook_usage + webhook_notify). */
export interface Webhook extends WebhookInput {
  webhookId: number;
  registered: Date;
  registeredAssociate: AssociateSummary | null;
  updated: Date | null;
  updatedAssociate: AssociateSummary | null;
  totalCalls: number;
  totalErrors: number;
  consecutiveErrors: number;
  lastError: string | null;
}

export interface WebhookFilter {
  /** Exact, case-insensitive name match; empty/null = no filter. */
  name?: string | null;
  /** Exact event name the hook subscribes to; empty/null = no filter. */
  event?: string | null;
  /** Unknown/undefined = no filter. */
  state?: WebhookState | null;
}

/** An event as SignalEvent accepts it. */
export interface SignalledEvent {
  eventName: string;
  primaryKey: number;
  data: Record<string, PropertyValue>;
  changedByAssociateId: number;
  /** When it happened (server clock). */
  timestamp: Date;
  /** The body's parts not derived from data (CRM entity events, src/crm/): see BodyParts. */
  bodyParts?: BodyParts;
}

/**
 * What an entity event's body says besides its data: Changes (column names, which for a CRM change are not the
 * FieldValues keys), Values (the id columns of a deleted row) and whether FieldValues is sent at all (NetServer's
 * sale.sold/.lost/.completed carry none). Events without BodyParts (SignalEvent, state events) derive Changes from
 * the keys of data.
 */
export interface BodyParts {
  changes: string[];
  values?: Record<string, number>;
  /** false: no FieldValues key in the body. */
  fieldValues?: boolean;
}
