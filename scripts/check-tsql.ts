/**
 * npm run check:tsql: every statement the service can send to SQL Server (scripts/tsql/collect.ts: migrations,
 * repositories, outbox, history, import; collected through the store with a recording mssql client, no server) is
 * parsed by sqlfluff's T-SQL grammar (Debian's sqlfluff). Prints `N statements, M unparsable` and fails on any
 * unparsable statement not covered by a listed grammar gap. Without sqlfluff it skips with the reason, except under
 * CI=true, where that is a failure. One sqlfluff run over a folder of one file per statement: a single file of all
 * statements took minutes (the parser slows down sharply with file size).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { collectMssqlStatements } from './tsql/collect.js';

/**
 * Statements sqlfluff's tsql grammar refuses although SQL Server accepts them, each with how that was shown. Empty
 * with sqlfluff 1.4.5: the statements that needed entries before (DBCC CHECKIDENT) are no longer sent. An entry must
 * name the construct and the documentation that proves the statement valid, never just silence a failure.
 */
export const grammarGaps: ReadonlyArray<{ pattern: RegExp; reason: string }> = [
  // crm-events setup (src/crm/crm-setup.ts): DDL a DBA reviews or --apply runs, never the service's own traffic.
  { pattern: /^alter database \[[^\]]+\] set change_tracking = on \(change_retention = \d+ days, auto_cleanup = on\)$/,
    reason: 'ALTER DATABASE SET options (Transact-SQL), <change_tracking_option>: CHANGE_TRACKING = ON (CHANGE_RETENTION = n DAYS, AUTO_CLEANUP = ON)' },
  { pattern: /^alter database \[[^\]]+\] set allow_snapshot_isolation on$/,
    reason: 'ALTER DATABASE SET options (Transact-SQL), <snapshot_option>: ALLOW_SNAPSHOT_ISOLATION { ON | OFF }' },
  { pattern: /^alter table \[[^\]]+\]\.\[[^\]]+\] enable change_tracking with \(track_columns_updated = on\)$/,
    reason: 'ALTER TABLE (Transact-SQL): { ENABLE | DISABLE } CHANGE_TRACKING [ WITH ( TRACK_COLUMNS_UPDATED = { ON | OFF } ) ]' },
];

export function sqlfluffMissing(): string | null {
  const r = spawnSync('sqlfluff', ['--version'], { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0 ? null : 'sqlfluff not installed (Debian sqlfluff)';
}

/** The indexes of the statements sqlfluff's tsql dialect cannot parse, with its message for each. */
export function unparsable(statements: readonly string[]): Array<{ index: number; message: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'check-tsql-'));
  try {
    statements.forEach((sql, i) => writeFileSync(join(dir, `${String(i).padStart(5, '0')}.sql`), `${sql}\n`));
    // The raw templater: statements are SQL, not Jinja templates. No size limit: a long statement is still checked.
    writeFileSync(join(dir, '.sqlfluff'), '[sqlfluff]\ndialect = tsql\ntemplater = raw\nlarge_file_skip_byte_limit = 0\n');
    // Lint with one cheap rule: parse errors (code PRS) are reported whatever the rules; files without any are left out.
    const r = spawnSync('sqlfluff', ['lint', '.', '--format', 'json', '--nofail', '--rules', 'L001', '--disable-progress-bar'],
      { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`sqlfluff failed (${r.status}): ${r.stderr}`);
    const files = JSON.parse(r.stdout) as Array<{ filepath: string; violations: Array<{ code: string; description: string }> }>;
    return files.flatMap((f) => f.violations.filter((v) => v.code === 'PRS').slice(0, 1)
      .map((v) => ({ index: Number(basename(f.filepath, '.sql')), message: v.description })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const reason = sqlfluffMissing();
  if (reason) {
    if (process.env.CI === 'true') {
      console.error(`check:tsql: ${reason}; CI requires it`);
      return 1;
    }
    console.log(`check:tsql skipped: ${reason}`);
    return 0;
  }
  const { sent, statements, notes } = await collectMssqlStatements();
  const bad = unparsable(statements);
  const gapOf = (sql: string) => grammarGaps.find((g) => g.pattern.test(sql));
  const unexplained = bad.filter((b) => !gapOf(statements[b.index]));
  console.log(`check:tsql: ${statements.length} statements (${sent} sent), ${bad.length} unparsable` +
    (bad.length > unexplained.length ? ` (${bad.length - unexplained.length} in listed grammar gaps)` : ''));
  for (const b of bad) {
    const gap = gapOf(statements[b.index]);
    console.log(`${gap ? 'grammar gap' : 'UNPARSABLE'}: ${b.message}${gap ? ` (${gap.reason})` : ''}\n  ${statements[b.index].replace(/\s+/g, ' ').slice(0, 400)}`);
  }
  for (const g of grammarGaps) if (!bad.some((b) => g.pattern.test(statements[b.index]))) console.log(`listed grammar gap no longer needed: ${g.pattern}`);
  if (process.argv.includes('--verbose')) for (const n of notes) console.log(`note: ${n}`);
  return unexplained.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) process.exitCode = await main();
