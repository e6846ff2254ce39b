/**
 * One page of webhooks for a list that has to stay usable at hundreds of hooks (the admin page): a search text
 * matched as a case-insensitive substring of the name, the target URL or the subscribed events (the `events` comma
 * list), a state filter, offset paging ordered by webhook_id, and the total the filters match.
 *
 * Two statements: the page's ids (with the total counted over the same filter), then the hooks themselves through
 * the repository's one read statement, so a page reads exactly like GetWebhook.
 */
import type { Knex } from 'knex';
import { stateToInt, type Webhook, type WebhookState } from '../webhooks/types.js';
import { knexOf, toInt, type Queryable } from './row-mapping.js';
import { getWebhooksByIds, type SecretOptions } from './webhook-repository.js';

export interface WebhookPageQuery {
  /** Substring of name, target URL or an event name, any case; empty = no filter. */
  search?: string;
  /** Only hooks in this state; undefined = every state. */
  state?: Exclude<WebhookState, 'Unknown'>;
  offset: number;
  limit: number;
}

export interface WebhookPage {
  webhooks: Webhook[];
  /** Hooks matching the filters, over all pages. */
  total: number;
}

/** LIKE's wildcards and its escape character taken literally (ESCAPE '\' on every dialect). */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_[]/g, (c) => `\\${c}`)}%`;
}

/** The filtered hooks (`webhook as w`), without columns or order. */
export function webhookPageFilter(k: Knex, q: Pick<WebhookPageQuery, 'search' | 'state'>): Knex.QueryBuilder {
  const query = k('webhook as w');
  const search = q.search?.trim();
  if (search) {
    const like = likePattern(search);
    query.where((w) => {
      for (const column of ['w.name', 'w.target_url', 'w.events']) w.orWhereRaw(`lower(??) like ? escape '\\'`, [column, like]);
    });
  }
  if (q.state) query.where('w.state', stateToInt(q.state));
  return query;
}

export async function webhookPage(db: Queryable, q: WebhookPageQuery, opts: SecretOptions): Promise<WebhookPage> {
  const k = knexOf(db);
  const counted = (await webhookPageFilter(k, q).count({ n: '*' }).first()) as { n: unknown } | undefined;
  const total = toInt(counted?.n ?? 0);
  if (total === 0 || q.offset >= total) return { webhooks: [], total };
  const rows = (await webhookPageFilter(k, q).select('w.webhook_id').orderBy('w.webhook_id').offset(q.offset).limit(q.limit)) as
    Array<{ webhook_id: unknown }>;
  return { webhooks: await getWebhooksByIds(k, rows.map((r) => toInt(r.webhook_id)), opts), total };
}
