// A minimal element tree and a pretty printer whose layout matches `xmllint --format`
// (two-space indent, empty elements self-closed, text-only elements on one line).

export interface XmlNode {
  readonly name: string;
  readonly attrs: ReadonlyArray<readonly [string, string]>;
  readonly children: ReadonlyArray<XmlNode | string>;
}

type Attrs = Record<string, string | number | undefined>;
type Child = XmlNode | string | false | undefined | null | readonly Child[];

/** Attributes keep their insertion order; undefined ones are left out; children are flattened. */
export function el(name: string, attrs: Attrs = {}, ...children: Child[]): XmlNode {
  const list: Array<readonly [string, string]> = [];
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined) list.push([key, String(value)]);
  }
  const flat: Array<XmlNode | string> = [];
  const add = (c: Child): void => {
    if (Array.isArray(c)) (c as readonly Child[]).forEach(add);
    else if (c !== false && c !== undefined && c !== null) flat.push(c as XmlNode | string);
  };
  children.forEach(add);
  return { name, attrs: list, children: flat };
}

const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
export const escapeAttr = (s: string): string => escapeText(s).replace(/"/g, '&quot;');

function write(node: XmlNode, indent: string, out: string[]): void {
  const attrs = node.attrs.map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  const open = `${indent}<${node.name}${attrs}`;
  if (node.children.length === 0) {
    out.push(`${open}/>`);
  } else if (node.children.every((c) => typeof c === 'string')) {
    out.push(`${open}>${node.children.map((c) => escapeText(c as string)).join('')}</${node.name}>`);
  } else {
    out.push(`${open}>`);
    for (const child of node.children) {
      if (typeof child === 'string') out.push(indent + '  ' + escapeText(child));
      else write(child, indent + '  ', out);
    }
    out.push(`${indent}</${node.name}>`);
  }
}

export function serializeDocument(root: XmlNode): string {
  const out = ['<?xml version="1.0" encoding="utf-8"?>'];
  write(root, '', out);
  return out.join('\n') + '\n';
}
