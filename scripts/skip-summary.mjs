// node:test reporter used by run-tests.mjs next to `spec`: at the end, lists what was skipped and why, so a run on a
// machine without PostgreSQL, xmllint, python3, Mono/zeep or ../shared says plainly what it did not cover.
export default async function* skipSummary(source) {
  const byReason = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, name, file } = event.data;
    if (skip === undefined || skip === false) continue;
    const reason = typeof skip === 'string' ? skip : 'skipped';
    const where = file ? file.replace(/^.*?\/test\//, 'test/') : '';
    const list = byReason.get(reason) ?? [];
    list.push(where ? `${where}: ${name}` : name);
    byReason.set(reason, list);
  }
  if (byReason.size === 0) return;
  const total = [...byReason.values()].reduce((n, l) => n + l.length, 0);
  yield `\nskipped ${total} (suites or tests), by reason:\n`;
  for (const [reason, list] of byReason) {
    yield `- ${reason} (${list.length}):\n`;
    for (const item of list.slice(0, 8)) yield `    ${item}\n`;
    if (list.length > 8) yield `    ... and ${list.length - 8} more\n`;
  }
}
