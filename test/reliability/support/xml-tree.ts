/**
 * A small XML tree for building and mutating request envelopes from the documented examples. It reads only what
 * those examples contain (declaration, elements, attributes, text, comments, CDATA) and is not an oracle for the
 * service's answers: responses are checked with xmllint (wire.ts).
 */

export interface XmlElement {
  name: string;
  attrs: Array<[string, string]>;
  children: XmlNode[];
}

/** Text is kept decoded; `raw` text is written as is (CDATA sections, hostile bytes). */
export type XmlNode = XmlElement | { text: string } | { raw: string };

export function isElement(n: XmlNode): n is XmlElement {
  return (n as XmlElement).name !== undefined;
}

export function localName(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
}

export function prefixOf(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? '' : name.slice(0, i);
}

const entities: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(cp);
    }
    return entities[e] ?? m;
  });
}

export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;');
}

/** Parses one document (the root element; the declaration, comments and surrounding whitespace are dropped). */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const fail = (why: string): never => {
    throw new Error(`xml-tree: ${why} at offset ${i}`);
  };
  while (i < xml.length) {
    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end < 0) fail('unterminated declaration');
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA');
      stack.at(-1)?.children.push({ text: xml.slice(i + 9, end) });
      i = end + 3;
    } else if (xml.startsWith('</', i)) {
      const end = xml.indexOf('>', i);
      const name = xml.slice(i + 2, end).trim();
      const open = stack.pop();
      if (!open || open.name !== name) fail(`unexpected </${name}>`);
      if (stack.length === 0) root = open!;
      i = end + 1;
    } else if (xml[i] === '<') {
      const m = /^<([^\s/>]+)((?:\s+[^\s=]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(xml.slice(i, i + 4096));
      if (!m) fail('bad start tag');
      const el: XmlElement = { name: m![1], attrs: [], children: [] };
      for (const a of m![2].matchAll(/([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) el.attrs.push([a[1], decodeEntities(a[2] ?? a[3])]);
      stack.at(-1)?.children.push(el);
      if (m![3] === '/') {
        if (stack.length === 0) root = el;
      } else stack.push(el);
      i += m![0].length;
    } else {
      const end = xml.indexOf('<', i);
      const text = xml.slice(i, end < 0 ? xml.length : end);
      // Line ends are normalised before references are decoded, as an XML parser does (a raw CR reads as LF).
      if (stack.length) stack.at(-1)!.children.push({ text: decodeEntities(text.replace(/\r\n?/g, '\n')) });
      i = end < 0 ? xml.length : end;
    }
  }
  if (!root || stack.length) fail('unbalanced document');
  return root!;
}

export function serialize(n: XmlNode): string {
  if ('raw' in n) return n.raw;
  if ('text' in n) return escapeText(n.text);
  const attrs = n.attrs.map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  if (n.children.length === 0) return `<${n.name}${attrs}/>`;
  return `<${n.name}${attrs}>${n.children.map(serialize).join('')}</${n.name}>`;
}

export function clone<T extends XmlNode>(n: T): T {
  return structuredClone(n);
}

export function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter(isElement);
}

/** The first descendant (depth first, self excluded) with this local name. */
export function findFirst(el: XmlElement, local: string): XmlElement | null {
  for (const c of childElements(el)) {
    if (localName(c.name) === local) return c;
    const d = findFirst(c, local);
    if (d) return d;
  }
  return null;
}

/** Follows a path of local names from `el` through direct children: `['Webhook', 'Name']`. */
export function findPath(el: XmlElement, path: string[]): XmlElement | null {
  let cur: XmlElement | null = el;
  for (const step of path) {
    cur = cur ? childElements(cur).find((c) => localName(c.name) === step) ?? null : null;
  }
  return cur;
}

export function mustFind(el: XmlElement, path: string[]): XmlElement {
  const f = findPath(el, path);
  if (!f) throw new Error(`xml-tree: no element at ${path.join('/')}`);
  return f;
}

export function setText(el: XmlElement, text: string): void {
  el.children = [{ text }];
}

export function getText(el: XmlElement): string {
  return el.children.map((c) => ('text' in c ? c.text : 'raw' in c ? c.raw : '')).join('');
}

export function setAttr(el: XmlElement, name: string, value: string): void {
  const a = el.attrs.find(([k]) => k === name);
  if (a) a[1] = value;
  else el.attrs.push([name, value]);
}

export function removeChild(parent: XmlElement, child: XmlElement): void {
  parent.children = parent.children.filter((c) => c !== child);
}

/** Every element of the tree with its parent (the root has none), document order. */
export function allElements(el: XmlElement, parent: XmlElement | null = null, out: Array<{ el: XmlElement; parent: XmlElement | null }> = []) {
  out.push({ el, parent });
  for (const c of childElements(el)) allElements(c, el, out);
  return out;
}
