import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthService, type AuthService } from '../../src/auth/auth-service.js';
import { hashTicket } from '../../src/auth/tickets.js';
import { AppError } from '../../src/errors.js';
import { dialectAvailability, freshDatabase, testDialects, type TestDatabase } from '../helpers/db.js';

const TTL = 6 * 3600_000;
const WINDOW = 60_000;
const LIMIT = 3;
const MAX_DELAY = 8_000;

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
    /** The throttle's waits, each advancing the test clock instead of sleeping. */
    const waits: number[] = [];
    const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    const newService = () => createAuthService({
      db, ticketTtlMs: TTL, loginFailuresPerWindow: LIMIT, loginWindowMs: WINDOW, loginMaxDelayMs: MAX_DELAY, now: () => new Date(clock),
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
      logger: { warn: (obj: Record<string, unknown>, msg: string) => warnings.push({ obj, msg }) } as never,
    });

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

    test('throttling: after the limit the owner is slowed down, never refused; the delay doubles up to the cap', async () => {
      await auth.addAssociate('lena', 'lena-pw');
      await auth.addAssociate('mike', 'mike-pw');
      waits.length = 0;
      for (let i = 0; i < LIMIT; i++) assert.equal(await auth.login('lena', `guess-${i}`, '203.0.113.9'), null);
      assert.deepEqual(waits, [], 'no delay before the limit');
      for (let i = 0; i < 4; i++) assert.equal(await auth.login('lena', `more-${i}`, '203.0.113.9'), null);
      assert.deepEqual(waits, [1000, 2000, 4000, 8000], 'each further attempt waits twice as long, up to loginMaxDelayMs');
      waits.length = 0;
      assert.ok(await auth.login('LENA', 'lena-pw', '203.0.113.9'), 'the right password still gets in, after the wait');
      assert.deepEqual(waits, [8000]);
      waits.length = 0;
      assert.ok(await auth.login('mike', 'mike-pw', '203.0.113.9'), 'other names are not affected');
      assert.deepEqual(waits, []);
      // A success cleared the count.
      for (let i = 0; i < LIMIT; i++) assert.equal(await auth.login('lena', 'bad', '203.0.113.9'), null);
      assert.deepEqual(waits, []);
    });

    test('throttling: an attacker cannot slow the real user down from another address, whatever spelling he uses', async () => {
      await auth.addAssociate('quinn', 'quinn-pw');
      for (const spelling of ['quinn', 'QUINN', ' quinn ', 'Quinn\u00a0', '\ufeffquinn']) {
        for (let i = 0; i < LIMIT + 2; i++) assert.equal(await auth.login(spelling, `guess-${i}`, '198.51.100.66'), null);
      }
      waits.length = 0;
      assert.ok(await auth.login('quinn', 'quinn-pw', '192.0.2.10'), 'the owner logs in from his own address at once');
      assert.deepEqual(waits, []);
      waits.length = 0;
      assert.equal(await auth.login('quinn', 'x', '198.51.100.66'), null);
      assert.deepEqual(waits, [MAX_DELAY], 'the variants all counted against one key: the attacker waits the longest delay');
      // IPv6 clients count per /64; IPv4-mapped IPv6 is the IPv4 address.
      for (let i = 0; i < LIMIT; i++) await auth.login('quinn', 'x', '2001:db8:1:2::a');
      waits.length = 0;
      await auth.login('quinn', 'x', '2001:db8:1:2:ffff::b');
      assert.deepEqual(waits, [1000], 'another address of the same /64 shares the count');
      waits.length = 0;
      await auth.login('quinn', 'x', '::ffff:198.51.100.66');
      assert.equal(waits.length, 1);
      assert.ok(warnings.some((w) => w.msg === 'login failed' && w.obj.userName === 'quinn' && w.obj.client === '198.51.100.66'), 'failed logins are logged with name and address');
      assert.ok(warnings.some((w) => w.msg.startsWith('login slowed down') && w.obj.delayedMs === MAX_DELAY), 'slowing is logged');
      assert.ok(!JSON.stringify(warnings).includes('guess-0'), 'no password in the log');
    });

    test('throttling: unknown names are counted too, and a parallel burst gets no more checks than a sequential one', async () => {
      waits.length = 0;
      for (let i = 0; i < LIMIT; i++) assert.equal(await auth.login('ghost', 'x', '203.0.113.7'), null);
      await auth.addAssociate('ghost', 'ghost-pw');
      assert.ok(await auth.login('ghost', 'ghost-pw', '203.0.113.7'), 'slowed (failures counted before the name existed), then let in');
      assert.deepEqual(waits, [1000]);

      await auth.addAssociate('nina', 'nina-pw');
      waits.length = 0;
      const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => auth.login('nina', i === 7 ? 'nina-pw' : `bad-${i}`, '203.0.113.8')));
      assert.ok(burst.slice(0, 7).every((r) => r === null));
      assert.ok(burst[7], 'the right password at the end of the burst still gets in');
      assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000], 'the burst was checked one at a time, each after its delay');
      // More than 8 attempts waiting on one key: the excess is answered at once, unchecked (a new password, which
      // has not proved right yet, so it does not skip the queue).
      assert.ok(await auth.changePassword('nina', 'nina-pw-2'));
      const flood = await Promise.all(Array.from({ length: 12 }, () => auth.login('nina', 'nina-pw-2', '203.0.113.99')));
      assert.equal(flood.filter((r) => r !== null).length, 8);
    });

    test('throttling: a guesser on the real user\'s address neither slows nor refuses the user\'s known-good credentials', async () => {
      // Issue 18: a legitimate Basic client on the guesser's address lost 3 of 39 calls (refused unchecked while the
      // guesser's attempt waited on the slowed key). Before the fix the user's calls below were refused or waited.
      await auth.addAssociate('rosa', 'rosa-pw');
      assert.ok(await auth.checkLogin('rosa', 'rosa-pw', '203.0.113.30'), 'the user has logged in before');
      for (let i = 0; i < LIMIT + 1; i++) assert.equal(await auth.login('rosa', `guess-${i}`, '203.0.113.30'), null);
      // The guesser's next attempt waits on the slowed key; meanwhile the user makes parallel calls from that address.
      let release!: () => void;
      const slowAuth = createAuthService({
        db, ticketTtlMs: TTL, loginFailuresPerWindow: LIMIT, loginWindowMs: WINDOW, loginMaxDelayMs: MAX_DELAY, now: () => new Date(clock),
        sleep: () => new Promise<void>((r) => (release = r)),
      });
      assert.ok(await slowAuth.checkLogin('rosa', 'rosa-pw', '203.0.113.30'));
      for (let i = 0; i < LIMIT; i++) assert.equal(await slowAuth.login('rosa', `guess-${i}`, '203.0.113.30'), null);
      const guess = slowAuth.login('rosa', 'guess-waiting', '203.0.113.30');
      await new Promise((r) => setImmediate(r));
      const calls = await Promise.all([
        ...Array.from({ length: 6 }, () => slowAuth.checkLogin('rosa', 'rosa-pw', '203.0.113.30')),
        slowAuth.login('rosa', 'rosa-pw', '203.0.113.30'),
      ]);
      assert.ok(calls.every((c) => c !== null), 'every call of the real user succeeded while the guess waited');
      release();
      assert.equal(await guess, null);
    });

    test('throttling: parallel correct logins all succeed', async () => {
      await auth.addAssociate('pia', 'pia-pw');
      const logins = await Promise.all(Array.from({ length: 2 * LIMIT }, () => auth.login('pia', 'pia-pw', '203.0.113.5')));
      assert.ok(logins.every((r) => r !== null && r.ticket.startsWith('7T:')), 'every correct login got a ticket');
      assert.equal(new Set(logins.map((r) => r!.ticket)).size, 2 * LIMIT);
    });

    test('throttling is per service instance (in memory)', async () => {
      await auth.addAssociate('olga', 'olga-pw');
      for (let i = 0; i < LIMIT; i++) await auth.login('olga', 'bad', '203.0.113.4');
      waits.length = 0;
      assert.ok(await auth.login('olga', 'olga-pw', '203.0.113.4'));
      assert.deepEqual(waits, [1000]);
      for (let i = 0; i < LIMIT; i++) await auth.login('olga', 'bad', '203.0.113.4');
      waits.length = 0;
      assert.ok(await newService().login('olga', 'olga-pw', '203.0.113.4'), 'another process has its own count');
      assert.deepEqual(waits, []);
    });

    test('checkLogin (HTTP Basic) checks a password once per TICKET_CACHE_MS, never caches a failure, forgets on change', async () => {
      const cached = createAuthService({
        db, ticketTtlMs: TTL, ticketCacheMs: 5000, loginFailuresPerWindow: LIMIT, loginWindowMs: WINDOW, now: () => new Date(clock),
      });
      await cached.addAssociate('basil', 'basil-pw-1');
      for (let i = 0; i < 5; i++) assert.equal((await cached.checkLogin('basil', 'basil-pw-1', '198.51.100.9'))?.name, 'basil');
      assert.deepEqual(cached.stats(), { passwordChecks: 1, cachedCredentialHits: 4 }, 'one scrypt check for five calls');
      assert.equal(await cached.checkLogin('basil', 'wrong', '198.51.100.9'), null);
      assert.equal(await cached.checkLogin('basil', 'wrong', '198.51.100.9'), null);
      assert.equal(cached.stats().passwordChecks, 3, 'every failure is checked');
      clock += 5000;
      assert.ok(await cached.checkLogin('basil', 'basil-pw-1'));
      assert.equal(cached.stats().passwordChecks, 4, 'checked again once the period is over');
      assert.ok(await cached.changePassword('basil', 'basil-pw-2'));
      assert.equal(await cached.checkLogin('basil', 'basil-pw-1'), null, 'the old password stops working at once');
      assert.ok(await cached.checkLogin('basil', 'basil-pw-2'));
      assert.ok(await cached.deleteAssociate('basil'));
      assert.equal(await cached.checkLogin('basil', 'basil-pw-2'), null, 'a deleted associate stops working at once');
      // Without a cache period (TICKET_CACHE_MS=0) every call is checked.
      await auth.addAssociate('bruno', 'bruno-pw-1');
      const before = auth.stats().passwordChecks;
      for (let i = 0; i < 3; i++) assert.ok(await auth.checkLogin('bruno', 'bruno-pw-1'));
      assert.equal(auth.stats().passwordChecks - before, 3);
    });
  });
}
