/**
 * The Webhook agent's operations as every face calls them: SOAP (soap/), NetServer's RESTful and Agents JSON faces
 * (rest/) and the admin API. Each operation authenticates the caller's credentials, checks the scalar inputs
 * (ids, PrimaryKey) with the same messages for every face, calls the agent, and translates database-unreachable
 * errors into AppError('unavailable'). What is left to a face is its wire: decoding requests into domain values,
 * encoding the results, and turning an AppError's code into its own error form.
 *
 * Inputs decoded from a request body are passed as a function, called only once the caller is authenticated:
 * a caller without valid credentials learns only that, never what was wrong with its body.
 */
import { AppError } from '../errors.js';
import type { AuthService, LoginResult } from '../auth/auth-service.js';
import type { AssociateSummary, PropertyValue, Webhook, WebhookFilter } from '../webhooks/types.js';
import type { WebhookDraft } from '../webhooks/validate.js';
import type { TestResult, WebhookAgent } from './webhook-agent.js';
import { requirePrimaryKey, requireWebhookId, type WebhookPageInput } from './input-checks.js';
import { translateError } from './translate-error.js';

/** Who is calling: a ticket (SOAP Credentials header, `SOTicket`) or a user name and password (HTTP Basic). */
export type Credentials =
  | { ticket: string | null | undefined }
  | { userName: string; password: string; /** the caller's address, for the login throttle */ client?: string };

export interface SignalEventInput {
  eventName: string;
  primaryKey: unknown;
  data: Record<string, PropertyValue>;
  /** The Idempotency-Key header, when the face has one (the JSON faces). */
  idempotencyKey?: string;
}

export interface WebhookOperationsDeps {
  agent: WebhookAgent;
  auth: AuthService;
}

const badPassword = () => new AppError('unauthenticated',
  'The user name or password is wrong, or the user name has had too many failed logins: wait and try again',
  { friendlyText: 'Authentication failed: log in again' });

export function createWebhookOperations(deps: WebhookOperationsDeps) {
  const { agent, auth } = deps;

  async function authenticate(cred: Credentials): Promise<AssociateSummary> {
    if ('userName' in cred) {
      const associate = await auth.checkLogin(cred.userName, cred.password, cred.client);
      if (!associate) throw badPassword();
      return associate;
    }
    return auth.authenticate(cred.ticket);
  }

  /** Authenticates, runs the operation, translates what it throws. */
  async function as<T>(cred: Credentials, op: (by: AssociateSummary) => Promise<T> | T): Promise<T> {
    try {
      return await op(await authenticate(cred));
    } catch (err) {
      throw translateError(err);
    }
  }

  return {
    authenticate: (cred: Credentials) => as(cred, (by) => by),

    /** SoPrincipal's login: a new ticket, or null when refused. `client`: the caller's address (login throttle). */
    async login(userName: string, password: string, client?: string): Promise<LoginResult | null> {
      try {
        return await auth.login(userName, password, client);
      } catch (err) {
        throw translateError(err);
      }
    },

    createDefaultWebhook: (cred: Credentials): Promise<Webhook> => as(cred, () => agent.createDefaultWebhook()),

    saveWebhook: (cred: Credentials, draft: () => WebhookDraft): Promise<Webhook> =>
      as(cred, (by) => agent.saveWebhook(draft(), by)),

    deleteWebhook: (cred: Credentials, webhookId: unknown, field?: string): Promise<void> =>
      as(cred, () => agent.deleteWebhook(requireWebhookId(webhookId, field))),

    getWebhook: (cred: Credentials, webhookId: unknown, field?: string): Promise<Webhook> =>
      as(cred, () => agent.getWebhook(requireWebhookId(webhookId, field))),

    getAllWebhooks: (cred: Credentials, filter: () => WebhookFilter): Promise<Webhook[]> =>
      as(cred, () => agent.listWebhooks(filter())),

    /** A page of hooks by search text and state, with the total (the admin page's list). */
    webhookPage: (cred: Credentials, query: () => WebhookPageInput) => as(cred, () => agent.webhookPage(query())),

    testWebhook: (cred: Credentials, draft: () => WebhookDraft): Promise<TestResult> =>
      as(cred, (by) => agent.testWebhook(draft(), by)),

    signalEvent: (cred: Credentials, input: () => SignalEventInput): Promise<void> =>
      as(cred, async (by) => {
        const { eventName, primaryKey, data, idempotencyKey } = input();
        await agent.signalEvent(eventName, requirePrimaryKey(primaryKey), data, by, { idempotencyKey });
      }),

    getLastError: (cred: Credentials, webhookId: unknown, field?: string): Promise<string> =>
      as(cred, () => agent.getLastError(requireWebhookId(webhookId, field))),
  };
}

export type WebhookOperations = ReturnType<typeof createWebhookOperations>;
