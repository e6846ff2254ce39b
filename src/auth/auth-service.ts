/**
 * Logins and tickets: what SoPrincipal.AuthenticateUsernamePassword and the ticket header of every Webhook
 * operation need.
 *
 * Login throttling (login-throttle.ts) is per process and in memory: failed logins slow further attempts for the
 * same user name from the same client address down; they never lock the user out, and another address is not
 * affected. Unknown user names are counted the same way and still cost one scrypt verification, so response time
 * does not tell whether a name exists. Failed and slowed logins are logged at warn with the name and address.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import { setBounded } from '../bounded-map.js';
import {
  countAssociates,
  createAssociate,
  findAssociateByName,
  getAssociate,
  markDeleted,
  setPassword as storePasswordHash,
  toSummary,
} from '../store/associate-repository.js';
import type { Queryable } from '../store/row-mapping.js';
import { deleteTicket, deleteTicketsFor, insertTicket, pruneExpired, touchTicket } from '../store/ticket-repository.js';
import type { AssociateSummary } from '../webhooks/types.js';
import { hashPassword, needsRehash, verifyPassword } from './password-hash.js';
import { hashTicket, isWellFormedTicket, issueTicket } from './tickets.js';
import { createLoginThrottle } from './login-throttle.js';
import type { Logger } from '../logger.js';

export interface AuthServiceOptions {
  /** The Database (or its knex). */
  db: Queryable;
  ticketTtlMs: number;
  loginFailuresPerWindow: number;
  loginWindowMs: number;
  /** Injected clock for tests; defaults to the system clock. */
  now?: () => Date;
  /**
   * How long a validated ticket is trusted without asking the database again (0: always ask). The sliding
   * renewal is then written at most this often, and a revocation made by another process (deleted associate)
   * takes effect within this time; revocations in this process take effect at once.
   */
  ticketCacheMs?: number;
  /** Longest delay a throttled login waits (login-throttle.ts); default 30 s. */
  loginMaxDelayMs?: number;
  /** Most (user name, address) keys the throttle remembers (login-throttle.ts). */
  maxThrottledNames?: number;
  /** Waits for the throttle; tests pass one that advances their clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Failed and slowed logins are logged at warn (user name, client address; never the password). */
  logger?: Pick<Logger, 'warn'>;
}

export interface LoginResult {
  ticket: string;
  associate: AssociateSummary;
}

export interface AuthService {
  /**
   * null = AuthenticationSucceeded=false (wrong name or password, deleted associate, or too many attempts waiting);
   * `client` is the caller's address, for the throttle. An associate
   * without a password (imported from NetServer) is refused like any other (null; the log tells the operator).
   */
  login(userName: string, password: string, client?: string): Promise<LoginResult | null>;
  /**
   * The associate behind a user name and password (or a ticket as the name with a blank password), through the
   * same throttle as login, without starting a session: for faces that send the password with every request
   * (HTTP Basic). null when refused.
   */
  checkLogin(userName: string, password: string, client?: string): Promise<AssociateSummary | null>;
  /** Password checks (scrypt) run, and checkLogin calls answered from the cache of recent successes instead. */
  stats(): { passwordChecks: number; cachedCredentialHits: number };
  /** The associate behind a valid ticket (renewing it); AppError('unauthenticated') otherwise. */
  authenticate(ticket: string | undefined | null): Promise<AssociateSummary>;
  /** Ends one ticket's session. false when it was not known. */
  logout(ticket: string): Promise<boolean>;
  /**
   * Creates the first associate when none has a password (deleted associates count as existing). When the name is
   * taken by an associate nobody can sign in as (imported from NetServer without a password, or deleted), nothing
   * is created and `unusable` says which and why, so the caller can tell the operator.
   */
  ensureAdmin(opts: { userName: string; password?: string }): Promise<EnsureAdminResult>;
  /** AppError('conflict') when the name is taken, 'invalid_argument' for an empty name or password. */
  addAssociate(name: string, password: string, fullName?: string): Promise<AssociateSummary>;
  /** Sets a new password and ends all of the associate's sessions. false when there is no such (live) associate. */
  changePassword(name: string, password: string): Promise<boolean>;
  /** Marks the associate deleted and ends its sessions. false when there is no such (live) associate. */
  deleteAssociate(name: string): Promise<boolean>;
  /** A ticket for an associate without a password (CLI `ticket` command). null when there is no such live associate. */
  issueTicketFor(name: string): Promise<LoginResult | null>;
  /** Removes expired tickets; returns how many. */
  pruneExpiredTickets(): Promise<number>;
}

export interface EnsureAdminResult {
  created: boolean;
  generatedPassword?: string;
  /** The existing associate of that name that blocks the creation, and why it cannot sign in. */
  unusable?: { userName: string; reason: 'no_password' | 'deleted' };
}

const unauthenticated = (message: string) =>
  new AppError('unauthenticated', message, { friendlyText: 'Authentication failed: log in again' });


export function createAuthService(opts: AuthServiceOptions): AuthService {
  const { db, ticketTtlMs, loginFailuresPerWindow, loginWindowMs } = opts;
  const now = opts.now ?? (() => new Date());
  const throttle = createLoginThrottle({
    failuresBeforeDelay: loginFailuresPerWindow, windowMs: loginWindowMs, maxDelayMs: opts.loginMaxDelayMs ?? 30_000,
    maxEntries: opts.maxThrottledNames, now: () => now().getTime(), sleep: opts.sleep,
  });

  /** A valid hash of a random password, verified for unknown names so both paths cost one scrypt. */
  let dummyHash: Promise<string> | undefined;
  const dummyPasswordHash = () => (dummyHash ??= hashPassword(randomBytes(16).toString('base64')));

  async function startSession(associate: AssociateSummary, at: Date): Promise<LoginResult> {
    const ticket = issueTicket();
    await insertTicket(db, {
      ticketHash: hashTicket(ticket),
      associateId: associate.associateId,
      expiresAt: new Date(at.getTime() + ticketTtlMs),
      createdAt: at,
    });
    return { ticket, associate };
  }

  async function liveAssociate(name: string) {
    const a = await findAssociateByName(db, name);
    return a && !a.deleted ? a : null;
  }

  async function loginWithTicket(ticket: string): Promise<LoginResult | null> {
    try {
      const associate = await authenticate(ticket);
      return { ticket, associate };
    } catch (err) {
      if (err instanceof AppError && err.code === 'unauthenticated') return null;
      throw err;
    }
  }

  /**
   * The associate behind a user name and password, through the login throttle; null when refused. A ticket is
   * accepted in place of the user name with a blank password (NetServer: "A ticket is accepted wherever a
   * username is, with a blank password"); then `ticket` is set.
   */
  async function verifyLogin(userName: string, password: string, client?: string): Promise<{ associate: AssociateSummary; at: Date; ticket?: string } | null> {
    const name = (userName ?? '').trim();
    if (name === '') return null;
    if (name.startsWith('7T:') && !password) {
      const r = await loginWithTicket(name);
      return r && { ...r, at: now() };
    }

    let verified: { associate: AssociateSummary; at: Date } | null = null;
    const credential = credentialKeyOf(name, password);
    const check = async () => {
      const at = now();
      const associate = await findAssociateByName(db, name);
      // Unknown names cost the same scrypt as known ones.
      const hash = associate?.passwordHash || (await dummyPasswordHash());
      passwordChecks += 1;
      const ok = await verifyPassword(password ?? '', hash);
      // An associate imported from NetServer has no password here yet. The caller gets the answer of every refusal
      // (telling it would show which names were imported); the operator is told in the log.
      if (associate && !associate.deleted && associate.passwordHash === '') {
        opts.logger?.warn({ userName: associate.name.slice(0, 100) },
          `login refused: the associate was imported from NetServer and has no password yet (set one: webhook-agent user password ${associate.name.slice(0, 100)})`);
        return false;
      }
      if (!associate || !ok || associate.deleted) return false;
      if (needsRehash(associate.passwordHash)) {
        await storePasswordHash(db, associate.associateId, await hashPassword(password), at);
      }
      verified = { associate: toSummary(associate), at };
      return true;
    };
    // A name and password that were right within the throttle's window skip its queue (still checked): a guesser on
    // the same address (one NAT, one proxy) cannot make the real user's calls wait or be refused unchecked.
    const knownAt = knownGood.get(credential);
    const verdict = knownAt !== undefined && now().getTime() - knownAt < loginWindowMs
      ? { kind: 'checked' as const, ok: await check(), delayedMs: 0 }
      : await throttle.attempt(name, client, check);
    if (verified) rememberKnownGood(credential);
    else knownGood.delete(credential);
    // The typed name is logged (capped) so an operator can see what is being guessed; never the password.
    const who = { userName: name.slice(0, 100), client: client ?? null };
    if (verdict.kind === 'refused') {
      opts.logger?.warn(who, 'login refused unchecked: too many attempts for this user name from this address are waiting');
      return null;
    }
    if (verdict.delayedMs > 0) opts.logger?.warn({ ...who, delayedMs: verdict.delayedMs }, 'login slowed down after repeated failures');
    if (!verdict.ok) opts.logger?.warn(who, 'login failed');
    return verified;
  }

  /**
   * HTTP Basic sends the password with every request, and scrypt is meant to be slow: checkLogin remembers a
   * successful check for TICKET_CACHE_MS (as a validated ticket is trusted that long), so a client making many calls
   * costs one password check per period, not one per call. Keyed by an HMAC of name and password under a key made
   * at start-up (the cache holds nothing a password could be recovered from without it); only successes are kept,
   * failures always go through the check and the throttle; a password change or deletion empties it.
   */
  const credentialKey = randomBytes(32);
  const credentialKeyOf = (userName: string, password: string) =>
    createHmac('sha256', credentialKey).update(String(userName ?? '').trim()).update('\0').update(password ?? '').digest('base64');
  const credentialCache = new Map<string, { associate: AssociateSummary; until: number }>();
  /** Checks in progress per credential key: parallel calls with the same credentials share one check. */
  const checking = new Map<string, Promise<AssociateSummary | null>>();
  /** Credential key -> when it last proved right (the throttle's bypass); same bound and eviction as the caches. */
  const knownGood = new Map<string, number>();
  const rememberKnownGood = (key: string) => setBounded(knownGood, key, now().getTime(), maxCachedTickets);
  let passwordChecks = 0;
  let cachedCredentialHits = 0;

  async function checkLogin(userName: string, password: string, client?: string): Promise<AssociateSummary | null> {
    const key = credentialKeyOf(userName, password);
    const at = now().getTime();
    const hit = credentialCache.get(key);
    if (hit && at < hit.until) {
      cachedCredentialHits += 1;
      return hit.associate;
    }
    credentialCache.delete(key);
    const running = checking.get(key);
    if (running) return running;
    const check = (async () => {
      const v = await verifyLogin(userName, password, client);
      if (!v) return null;
      if (ticketCacheMs > 0) {
        setBounded(credentialCache, key, { associate: v.associate, until: at + ticketCacheMs }, maxCachedTickets);
      }
      return v.associate;
    })();
    checking.set(key, check);
    try {
      return await check;
    } finally {
      checking.delete(key);
    }
  }

  async function login(userName: string, password: string, client?: string): Promise<LoginResult | null> {
    const v = await verifyLogin(userName, password, client);
    if (!v) return null;
    // A new ticket's lifetime starts when it is issued, after the (slow) password check.
    return v.ticket ? { ticket: v.ticket, associate: v.associate } : startSession(v.associate, now());
  }

  // ticket hash -> associate, validated at `until` - ticketCacheMs; Map order = insertion order, for eviction.
  const ticketCache = new Map<string, { associate: AssociateSummary; until: number }>();
  // At most half the lifetime: a cache hit does not write the renewal, so the next database check must come while
  // the stored expiry is still ahead (a ticket used every ttl/3 must never lapse).
  const ticketCacheMs = Math.min(opts.ticketCacheMs ?? 0, Math.floor(ticketTtlMs / 2));
  const maxCachedTickets = 10_000;

  async function authenticate(ticket: string | undefined | null): Promise<AssociateSummary> {
    // Messages never contain the ticket: they end up in ExceptionInfo and logs.
    if (ticket === undefined || ticket === null || ticket.trim() === '') {
      throw unauthenticated('No credentials: log in with SoPrincipal.AuthenticateUsernamePassword and send the ticket');
    }
    const t = ticket.trim();
    if (!isWellFormedTicket(t)) throw unauthenticated('The ticket is malformed');
    const hash = hashTicket(t);
    const at = now();
    const cached = ticketCache.get(hash);
    if (cached && at.getTime() < cached.until) return cached.associate;
    ticketCache.delete(hash);
    const associateId = await touchTicket(db, hash, at, ticketTtlMs);
    if (associateId === null) throw unauthenticated('The ticket is unknown or has expired');
    const associate = await getAssociate(db, associateId);
    // touchTicket already checked the associate; this covers a deletion in between.
    if (!associate || associate.deleted) throw unauthenticated('The ticket is unknown or has expired');
    const summary = toSummary(associate);
    if (ticketCacheMs > 0) {
      setBounded(ticketCache, hash, { associate: summary, until: at.getTime() + ticketCacheMs }, maxCachedTickets);
    }
    return summary;
  }

  async function logout(ticket: string): Promise<boolean> {
    const t = ticket.trim();
    ticketCache.clear();
    credentialCache.clear(); // a ticket sent as the Basic user name
    if (!isWellFormedTicket(t)) return false;
    return deleteTicket(db, hashTicket(t));
  }

  function checkPassword(password: string): void {
    if (!password) throw new AppError('invalid_argument', 'The password must not be empty', { field: 'password' });
  }

  async function addAssociate(name: string, password: string, fullName?: string): Promise<AssociateSummary> {
    checkPassword(password);
    const created = await createAssociate(db, { name, fullName, passwordHash: await hashPassword(password) }, now());
    return toSummary(created);
  }

  async function ensureAdmin(o: { userName: string; password?: string }): Promise<EnsureAdminResult> {
    // Associates imported from NetServer cannot log in (no password), so they do not count.
    if ((await countAssociates(db, { withPassword: true })) > 0) return { created: false };
    const generated = o.password ? undefined : randomBytes(18).toString('base64url');
    try {
      await addAssociate(o.userName, o.password ?? (generated as string));
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'conflict')) throw err;
      // The name is taken: by another process that created it first (it has a password), or by an associate
      // nobody can sign in as, such as NetServer's ADMIN brought by an import.
      const taken = await findAssociateByName(db, o.userName);
      if (taken?.deleted) return { created: false, unusable: { userName: taken.name, reason: 'deleted' } };
      if (taken && !taken.passwordHash) return { created: false, unusable: { userName: taken.name, reason: 'no_password' } };
      return { created: false };
    }
    return generated === undefined ? { created: true } : { created: true, generatedPassword: generated };
  }

  async function changePassword(name: string, password: string): Promise<boolean> {
    checkPassword(password);
    const a = await liveAssociate(name);
    if (!a) return false;
    await storePasswordHash(db, a.associateId, await hashPassword(password), now());
    await deleteTicketsFor(db, a.associateId);
    ticketCache.clear();
    credentialCache.clear();
    knownGood.clear();
    throttle.forgetName(name);
    return true;
  }

  async function deleteAssociate(name: string): Promise<boolean> {
    const a = await liveAssociate(name);
    if (!a) return false;
    await markDeleted(db, a.associateId, now());
    await deleteTicketsFor(db, a.associateId);
    ticketCache.clear();
    credentialCache.clear();
    knownGood.clear();
    return true;
  }

  async function issueTicketFor(name: string): Promise<LoginResult | null> {
    const a = await liveAssociate(name);
    return a ? startSession(toSummary(a), now()) : null;
  }

  return {
    login,
    checkLogin,
    stats: () => ({ passwordChecks, cachedCredentialHits }),
    authenticate,
    logout,
    ensureAdmin,
    addAssociate,
    changePassword,
    deleteAssociate,
    issueTicketFor,
    pruneExpiredTickets: () => pruneExpired(db, now()),
  };
}
