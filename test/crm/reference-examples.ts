/**
 * The payload examples of NetServer's webhook reference pages (../shared/reference/webhook-docs), read as objects.
 * The pages' JSON is hand-written (a request line before the body, a missing comma, trailing commas): those are
 * repaired here, nothing else is changed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { referenceDir } from '../helpers/requires.js';

export const webhookDocsDir = path.join(referenceDir, 'webhook-docs');

function repair(block: string): Record<string, unknown> {
  const body = block.slice(block.indexOf('{'))
    .replace(/"\s*\n(\s*)"/g, '",\n$1"')
    .replace(/,(\s*[\]}])/g, '$1');
  return JSON.parse(body) as Record<string, unknown>;
}

/** Every ```json block of a page, repaired and parsed. */
export function referenceExamples(page: string): Array<Record<string, unknown>> {
  const text = readFileSync(path.join(webhookDocsDir, page), 'utf8');
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => repair(m[1]!));
}

/** The example whose Event is `event`. */
export function referenceExample(page: string, event: string): Record<string, unknown> {
  const found = referenceExamples(page).find((e) => e.Event === event);
  if (!found) throw new Error(`no ${event} example in ${page}`);
  return found;
}

/** The bullet list under a page's "Included FieldValues" heading. */
export function referenceFieldValueKeys(page: string): string[] {
  const text = readFileSync(path.join(webhookDocsDir, page), 'utf8');
  const section = /## Included FieldValues[^\n]*\n([\s\S]*?)\n## /.exec(text)?.[1] ?? '';
  return [...section.matchAll(/^\* `([^`]+)`/gm)].map((m) => m[1]!);
}
