/**
 * Escaping for every string we put on the wire. Unlike node-soap's xmlEscape there is no CDATA pass-through:
 * a value that looks like `<![CDATA[...]]>` is data like any other, so stored strings can never inject markup.
 * Characters that XML 1.0 cannot carry at all (most C0 controls, U+FFFE/U+FFFF) are dropped, lone surrogates
 * become U+FFFD: a response that a client cannot parse would lose the whole call, one odd character would not.
 */

// One class for "needs work" so the common case (plain text) costs a single regex test and no allocation.
// Surrogates are in it so that lone ones are caught; valid pairs just take the slower path.
// Matching control characters is the point of these expressions.
/* eslint-disable no-control-regex */
const TEXT_SPECIAL = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const TEXT_REPLACE = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const ATTR_SPECIAL = /[&<>"'\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const ATTR_REPLACE = /[&<>"'\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
/* eslint-enable no-control-regex */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const REPLACEMENTS: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  // '>' is escaped too so that "]]>" can never appear in text content.
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // CR would be normalised to LF by every XML parser; the character reference keeps it (WCF writes it the same way).
  '\r': '&#xD;',
  '\n': '&#xA;',
  '\t': '&#x9;',
};

function replaceChar(c: string): string {
  return REPLACEMENTS[c] ?? '';
}

/** Escape a string for element content. */
export function escapeXmlText(value: string): string {
  if (!TEXT_SPECIAL.test(value)) return value;
  return value.replace(LONE_SURROGATE, '\uFFFD').replace(TEXT_REPLACE, replaceChar);
}

/** Escape a string for a double- or single-quoted attribute value. */
export function escapeXmlAttr(value: string): string {
  if (!ATTR_SPECIAL.test(value)) return value;
  return value.replace(LONE_SURROGATE, '\uFFFD').replace(ATTR_REPLACE, replaceChar);
}
