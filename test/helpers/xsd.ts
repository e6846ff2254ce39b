/**
 * Validates a SOAP 1.1 envelope's Header and Body children against a WSDL's inline schemas with
 * `xmllint --schema` (libxml2), an oracle independent of our serializer and of node-soap.
 *
 * The inline <xs:schema> elements are cut out of the WSDL text (one file per target namespace),
 * given the namespace declarations they inherit from wsdl:definitions and wsdl:types, and their
 * imports get schemaLocations. A small SOAP 1.1 envelope schema imports them all; its Header and
 * Body wildcards are strict, so every child must be a declared global element (lax for Header
 * children on request, which still validates the declared ones but skips unknown headers).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const XMLLINT = 'xmllint';
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';

export interface ValidateOptions {
  /** Skip header elements the WSDL does not declare instead of rejecting them. */
  laxHeaders?: boolean;
}

interface Schema { targetNamespace: string; startTag: string; body: string }

const attr = (tag: string, name: string): string | undefined =>
  new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`).exec(tag)?.[1];

function namespaceDecls(tag: string): Map<string, string> {
  const decls = new Map<string, string>();
  for (const m of tag.matchAll(/\s(xmlns(?::[\w.-]+)?)\s*=\s*"([^"]*)"/g)) decls.set(m[1], m[2]);
  return decls;
}

/** Cuts the inline schemas out of the WSDL text; a schema's content never nests another schema. */
function extractSchemas(wsdl: string): Schema[] {
  const inherited = new Map<string, string>();
  for (const tagName of ['definitions', 'types']) {
    const tag = new RegExp(`<(?:[\\w.-]+:)?${tagName}\\b[^>]*>`).exec(wsdl)?.[0] ?? '';
    for (const [k, v] of namespaceDecls(tag)) inherited.set(k, v);
  }
  const schemas: Schema[] = [];
  const pattern = /<((?:[\w.-]+:)?)schema\b([^>]*?)(\/>|>([\s\S]*?)<\/\1schema>)/g;
  for (const m of wsdl.matchAll(pattern)) {
    const own = namespaceDecls(m[2]);
    const extra = [...inherited].filter(([k]) => !own.has(k)).map(([k, v]) => ` ${k}="${v}"`).join('');
    schemas.push({
      targetNamespace: attr(m[2], 'targetNamespace') ?? '',
      startTag: `<${m[1]}schema${m[2]}${extra}>`,
      body: m[4] ?? '',
    });
  }
  return schemas;
}

/** libxml2 reads one document per namespace, so schemas sharing a namespace are merged. */
function byNamespace(schemas: Schema[]): Schema[] {
  const merged = new Map<string, Schema>();
  for (const s of schemas) {
    const prev = merged.get(s.targetNamespace);
    merged.set(s.targetNamespace, prev ? { ...prev, body: prev.body + s.body } : s);
  }
  return [...merged.values()];
}

function envelopeSchema(imports: Array<[string, string]>, laxHeaders: boolean): string {
  const importTags = imports.map(([ns, file]) => `<xs:import namespace="${ns}" schemaLocation="${file}"/>`).join('\n  ');
  return `<?xml version="1.0" encoding="utf-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:soap="${SOAP11}"
    targetNamespace="${SOAP11}" elementFormDefault="qualified">
  ${importTags}
  <xs:element name="Envelope">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="soap:Header" minOccurs="0"/>
        <xs:element ref="soap:Body"/>
      </xs:sequence>
      <xs:anyAttribute namespace="##other" processContents="lax"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="Header">
    <xs:complexType>
      <xs:sequence>
        <xs:any namespace="##other" processContents="${laxHeaders ? 'lax' : 'strict'}" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:anyAttribute namespace="##other" processContents="lax"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="Body">
    <xs:complexType>
      <xs:sequence>
        <xs:any namespace="##any" processContents="strict" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:anyAttribute namespace="##any" processContents="lax"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="Fault">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="faultcode" type="xs:QName" form="unqualified"/>
        <xs:element name="faultstring" type="xs:string" form="unqualified"/>
        <xs:element name="faultactor" type="xs:anyURI" form="unqualified" minOccurs="0"/>
        <xs:element name="detail" form="unqualified" minOccurs="0">
          <xs:complexType>
            <xs:sequence>
              <xs:any namespace="##any" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
            </xs:sequence>
            <xs:anyAttribute namespace="##any" processContents="lax"/>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
`;
}

export async function validateAgainstWsdl(
  wsdlPath: string,
  xml: string,
  options: ValidateOptions = {},
): Promise<{ ok: boolean; errors: string }> {
  const schemas = byNamespace(extractSchemas(await readFile(wsdlPath, 'utf8')));
  if (schemas.length === 0) throw new Error(`no inline xs:schema in ${wsdlPath}`);
  const files = new Map(schemas.map((s, i) => [s.targetNamespace, `schema-${i}.xsd`] as const));
  const dir = await mkdtemp(path.join(tmpdir(), 'wsdl-xsd-'));
  try {
    for (const s of schemas) {
      // Give every import without one a schemaLocation pointing at the extracted file.
      const body = s.body.replace(/<((?:[\w.-]+:)?)import\b([^>]*?)(\/?)>/g, (whole, prefix: string, attrs: string, close: string) => {
        const ns = attr(attrs, 'namespace');
        const file = ns === undefined ? undefined : files.get(ns);
        if (!file || attr(attrs, 'schemaLocation') !== undefined) return whole;
        return `<${prefix}import${attrs} schemaLocation="${file}"${close}>`;
      });
      const doc = `<?xml version="1.0" encoding="utf-8"?>\n${s.startTag}${body}</${s.startTag.slice(1).split(/[\s>]/)[0]}>\n`;
      await writeFile(path.join(dir, files.get(s.targetNamespace)!), doc);
    }
    await writeFile(path.join(dir, 'envelope.xsd'), envelopeSchema([...files], options.laxHeaders === true));
    await writeFile(path.join(dir, 'message.xml'), xml);
    try {
      await run(XMLLINT, ['--noout', '--nonet', '--schema', 'envelope.xsd', 'message.xml'], { cwd: dir });
      return { ok: true, errors: '' };
    } catch (err) {
      const e = err as { code?: unknown; stderr?: string };
      if (typeof e.code !== 'number') throw err;
      const errors = (e.stderr ?? '').trim();
      // Exit 4 and 5 mean the schemas did not load: a fault of the WSDL or of this helper, not of xml.
      if (e.code === 4 || e.code === 5) throw new Error(`xmllint could not use the schemas (exit ${e.code}): ${errors}`, { cause: err });
      return { ok: false, errors };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
