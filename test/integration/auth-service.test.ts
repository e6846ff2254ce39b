import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthService, type AuthService } from '../../src/auth/auth-service.js';
import { hashTicket } from '../../src/auth/tickets.js';
import { AppError } from '../../src/errors.js';
import { dialectAvailability, freshDatabase, testDialects, type TestDatabase } from '../helpers/db.js';

const TTL = 6 * 3600_000;
const WINDOW = 60_000;
const LIMIT = 3;

/** AppError('unauthenticated') whose message does not contain the ticket. */
function unauthenticatedWithout(ticket: string | null | undefined) {
  return (e: unknown) => {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.code, 'unauthenticated');
    if (ticket) assert.ok(!e.message.includes(ticket) && !e.friendlyText.includes(ticket), 'message leaks the ticket');
    return true;
  };
}

for (const dialect of testDialects) {
  describe(`auth service (${dialect})`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    let clock: number;
    let auth: AuthService;
    const newService = () =>
      createAuthService({ db, ticketTtlMs: TTL, loginFailuresPerWindow: LIMIT, loginWindowMs: WINDOW, now: () => new Date(clock) });

    before(async () => {
      db = await freshDatabase(dialect);
      clock = Date.parse('2024-03-01T12:00:00.000Z');
      auth = newService();
    });
    after(async () => {
      await db?.drop();
    });

    test('ensureAdmin creates the first associate once, with a generated password that works', async () => {
      const first = await auth.ensureAdmin({ userName: 'admin' });
      assert.equal(first.created, true);
      assert.ok(first.generatedPassword && first.generatedPassword.length >= 20);
      assert.deepEqual(await auth.ensureAdmin({ userName: 'admin' }), { created: false });
      assert.deepEqual(await auth.ensureAdmin({ userName: 'other', password: 'pw' }), { created: false }, 'only on an empty table');
      const login = await auth.login('admin', first.generatedPassword);
      assert.ok(login);
      assert.equal(login.associate.name, 'admin');
    });

    test('login: ticket for the right password, case-insensitive user name; null otherwise', async () => {
      const created = await auth.addAssociate('Carol', 'carol-pw', 'Carol Example');
      assert.equal(created.fullName, 'Carol Example');
      const ok = await auth.login('cAROL', 'carol-pw');
      assert.ok(ok);
      assert.match(ok.ticket, /^7T:[A-Za-z0-9+/]{43}=$/);
      assert.deepEqual(ok.associate, created);
      assert.equal(await auth.login('carol', 'wrong'), null);
      assert.equal(await auth.login('nobody', 'carol-pw'), null);
      assert.equal(await auth.login('', ''), null);

      // Stored hashed only.
      const rows = (await db.knex('ticket').select('ticket_hash')) as Array<{ ticket_hash: string }>;
      assert.ok(rows.some((r) => r.ticket_hash === hashTicket(ok.ticket)));
      assert.ok(rows.every((r) => r.ticket_hash !== ok.ticket && !r.ticket_hash.includes('7T:')));
    });

    test('authenticate: valid tickets give the associate; missing, malformed and unknown ones are refused', async () => {
      await auth.addAssociate('dave', 'dave-pw');
      const ok = await auth.login('dave', 'dave-pw');
      assert.ok(ok);
      assert.deepEqual(await auth.authenticate(ok.ticket), ok.associate);
      assert.deepEqual(await auth.authenticate(` ${ok.ticket} `), ok.associate, 'surrounding whitespace from XML is ignored');
      for (const missing of [undefined, null, '', '   ']) {
        await assert.rejects(auth.authenticate(missing), unauthenticatedWithout(missing));
      }
      for (const bad of ['not-a-ticket', '7T:', "7T:abc' or 1=1 --", `${ok.ticket}x!`]) {
        await assert.rejects(auth.authenticate(bad), unauthenticatedWithout(bad));
      }
      const unknown = '7T:' + Buffer.alloc(32, 7).toString('base64');
      await assert.rejects(auth.authenticate(unknown), unauthenticatedWithout(unknown));
    });

    test('tickets slide: each use renews the full lifetime; an expired ticket stays expired', async () => {
      await auth.addAssociate('erin', 'erin-pw');
      const ok = await auth.login('erin', 'erin-pw');
      assert.ok(ok);
      const start = clock;
      clock = start + TTL - 1000;
      await auth.authenticate(ok.ticket);
      clock = start + TTL + 1000; // past the original expiry, inside the renewed one
      assert.equal((await auth.authenticate(ok.ticket)).name, 'erin');
      clock += TTL; // no use for a whole lifetime
      await assert.rejects(auth.authenticate(ok.ticket), unauthenticatedWithout(ok.ticket));
      clock -= 10; // just inside its lifetime again: the refusal above neither renewed nor removed it
      assert.equal((await auth.authenticate(ok.ticket)).name, 'erin');
      clock += 10 + TTL;
      assert.ok((await auth.pruneExpiredTickets()) >= 1);
      clock -= TTL;
      await assert.rejects(auth.authenticate(ok.ticket), unauthenticatedWithout(ok.ticket), 'pruned');
    });

    test('a deleted associate can neither log in nor use its tickets', async () => {
      await auth.addAssociate('frank', 'frank-pw');
      const ok = await auth.login('frank', 'frank-pw');
      assert.ok(ok);
      const other = await auth.issueTicketFor('frank');
      assert.ok(other);
      // Deleting only the flag (not the tickets) must already be enough.
      await db.knex('associate').where('associate_id', ok.associate.associateId).update({ deleted: 1 });
      await assert.rejects(auth.authenticate(ok.ticket), unauthenticatedWithout(ok.ticket));
      assert.equal(await auth.login('frank', 'frank-pw'), null);
      assert.equal(await auth.issueTicketFor('frank'), null);
      assert.equal(await auth.deleteAssociate('frank'), false, 'already deleted');
    });

    test('deleteAssociate and changePassword end all sessions', async () => {
      await auth.addAssociate('gina', 'gina-pw');
      const t1 = await auth.login('gina', 'gina-pw');
      assert.ok(t1);
      assert.equal(await auth.changePassword('GINA', 'gina-new'), true);
      await assert.rejects(auth.authenticate(t1.ticket), unauthenticatedWithout(t1.ticket));
      assert.equal(await auth.login('gina', 'gina-pw'), null);
      const t2 = await auth.login('gina', 'gina-new');
      assert.ok(t2);
      assert.equal(await auth.deleteAssociate('gina'), true);
      await assert.rejects(auth.authenticate(t2.ticket), unauthenticatedWithout(t2.ticket));
      assert.equal(await auth.changePassword('nobody', 'x'), false);
    });

    test('logout ends one session', async () => {
      await auth.addAssociate('hank', 'hank-pw');
      const a = await auth.login('hank', 'hank-pw');
      const b = await auth.login('hank', 'hank-pw');
      assert.ok(a && b);
      assert.notEqual(a.ticket, b.ticket);
      assert.equal(await auth.logout(a.ticket), true);
      assert.equal(await auth.logout(a.ticket), false);
      await assert.rejects(auth.authenticate(a.ticket), unauthenticatedWithout(a.ticket));
      assert.equal((await auth.authenticate(b.ticket)).name, 'hank');
    });

    test('a ticket is accepted as user name with a blank password (NetServer)', async () => {
      await auth.addAssociate('ida', 'ida-pw');
      const ok = await auth.login('ida', 'ida-pw');
      assert.ok(ok);
      const again = await auth.login(ok.ticket, '');
      assert.deepEqual(again, ok);
      assert.equal(await auth.login('7T:' + Buffer.alloc(32, 1).toString('base64'), ''), null);
    });

    test('addAssociate refuses taken names (any case) and empty values', async () => {
      await auth.addAssociate('jack', 'pw');
      await assert.rejects(auth.addAssociate('JACK', 'pw'), (e: unknown) => e instanceof AppError && e.code === 'conflict');
      await assert.rejects(auth.addAssociate('  ', 'pw'), (e: unknown) => e instanceof AppError && e.code === 'invalid_argument');
      await assert.rejects(auth.addAssociate('kim', ''), (e: unknown) => e instanceof AppError && e.code === 'invalid_argument');
    });

    test('throttling: after the limit, the right password is refused until the window passes', async () => {
      await auth.addAssociate('lena', 'lena-pw');
      await auth.addAssociate('mike', 'mike-pw');
      for (let i = 0; i < LIMIT; i++) assert.equal(await auth.login('lena', `guess-${i}`), null);
      assert.equal(await auth.login('LENA', 'lena-pw'), null, 'refused while throttled (any case of the name)');
      assert.ok(await auth.login('mike', 'mike-pw'), 'other names are not affected');
      clock += WINDOW - 1;
      assert.equal(await auth.login('lena', 'lena-pw'), null, 'still inside the window');
      clock += 1;
      assert.ok(await auth.login('lena', 'lena-pw'), 'window passed');

      // A success clears the count.
      for (let i = 0; i < LIMIT - 1; i++) assert.equal(await auth.login('lena', 'bad'), null);
      assert.ok(await auth.login('lena', 'lena-pw'));
      for (let i = 0; i < LIMIT - 1; i++) assert.equal(await auth.login('lena', 'bad'), null);
      assert.ok(await auth.login('lena', 'lena-pw'), 'count restarted after the success');
    });

    test('throttling: unknown names are throttled too, and a parallel burst cannot exceed the limit', async () => {
      for (let i = 0; i < LIMIT; i++) assert.equal(await auth.login('ghost', 'x'), null);
      await auth.addAssociate('ghost', 'ghost-pw');
      assert.equal(await auth.login('ghost', 'ghost-pw'), null, 'failures counted before the name existed');
      clock += WINDOW;
      assert.ok(await auth.login('ghost', 'ghost-pw'));

      await auth.addAssociate('nina', 'nina-pw');
      const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => auth.login('nina', i === 9 ? 'nina-pw' : `bad-${i}`)));
      assert.ok(burst.slice(LIMIT).every((r) => r === null), 'attempts beyond the limit are refused unchecked');
      assert.equal(await auth.login('nina', 'nina-pw'), null, 'throttled after the burst');
    });

    test('throttling: parallel correct logins all succeed (they wait for in-flight checks instead of being refused)', async () => {
      await auth.addAssociate('pia', 'pia-pw');
      const logins = await Promise.all(Array.from({ length: 2 * LIMIT }, () => auth.login('pia', 'pia-pw')));
      assert.ok(logins.every((r) => r !== null && r.ticket.startsWith('7T:')), 'every correct login got a ticket');
      assert.equal(new Set(logins.map((r) => r!.ticket)).size, 2 * LIMIT);
    });

    test('throttling is per service instance (in memory)', async () => {
      await auth.addAssociate('olga', 'olga-pw');
      for (let i = 0; i < LIMIT; i++) await auth.login('olga', 'bad');
      assert.equal(await auth.login('olga', 'olga-pw'), null);
      assert.ok(await newService().login('olga', 'olga-pw'), 'another process has its own count');
    });
  });
}
