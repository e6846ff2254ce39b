/**
 * Tickets (table `ticket`): only the sha-256 of a ticket is stored, so a leaked table does not hand out sessions.
 * Expiry slides: every use renews the ticket to the full lifetime, as NetServer's do ("valid for 6 hours ... Every
 * time a ticket is used, it is renewed"); an expired ticket cannot be renewed.
 */
import type { Knex } from 'knex';
import { returningInto } from './mssql-output.js';
import { knexOf, toInt, type Queryable } from './row-mapping.js';

export interface NewTicket {
  ticketHash: string;
  associateId: number;
  expiresAt: Date;
  /** Defaults to now. */
  createdAt?: Date;
}

export async function insertTicket(db: Queryable, t: NewTicket): Promise<void> {
  const created = t.createdAt ?? new Date();
  await knexOf(db)('ticket').insert({
    ticket_hash: t.ticketHash,
    associate_id: t.associateId,
    created,
    expires_at: t.expiresAt,
    last_used: created,
  });
}

/**
 * One statement on every dialect: UPDATE ... RETURNING (pg, SQLite >= 3.35) or UPDATE ... OUTPUT ... INTO (SQL
 * Server, mssql-output.ts), so a ticket is checked and renewed atomically. The associate must exist and not be deleted.
 */
export function touchTicketQuery(k: Knex, ticketHash: string, now: Date, ttlMs: number): Knex.QueryBuilder | Knex.Raw {
  return returningInto(k, k('ticket')
    .where('ticket_hash', ticketHash)
    .andWhere('expires_at', '>', now)
    .whereExists((sub) => {
      sub
        .select(k.raw('1'))
        .from('associate')
        .whereRaw('?? = ??', ['associate.associate_id', 'ticket.associate_id'])
        .andWhere('associate.deleted', 0);
    })
    .update({ expires_at: new Date(now.getTime() + ttlMs), last_used: now }), { associate_id: 'int' });
}

/** The ticket's associate id when it is valid (renewing it to now + ttlMs), otherwise null. */
export async function touchTicket(db: Queryable, ticketHash: string, now: Date, ttlMs: number): Promise<number | null> {
  const rows = (await touchTicketQuery(knexOf(db), ticketHash, now, ttlMs)) as Array<{ associate_id: unknown }>;
  return rows.length > 0 ? toInt(rows[0].associate_id) : null;
}

/** Logs an associate out everywhere (password change, deletion). Returns the number of tickets removed. */
export async function deleteTicketsFor(db: Queryable, associateId: number): Promise<number> {
  return knexOf(db)('ticket').where('associate_id', associateId).delete();
}

export async function deleteTicket(db: Queryable, ticketHash: string): Promise<boolean> {
  return (await knexOf(db)('ticket').where('ticket_hash', ticketHash).delete()) > 0;
}

/** Removes tickets that expired at or before now. Returns how many. */
export async function pruneExpired(db: Queryable, now: Date): Promise<number> {
  return knexOf(db)('ticket').where('expires_at', '<=', now).delete();
}
