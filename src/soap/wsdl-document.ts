/**
 * The WSDL as served on `?wsdl`: the document given at start-up with its soap:address location replaced by the
 * URL the caller used. JAX-WS re-reads the address at run time and zeep/PHP use it unless overridden, so a
 * WSDL pointing at sod.superoffice.com (or at an internal host behind a proxy) would send them elsewhere.
 * The document is split once around the location values; each request only joins the pieces.
 */
import { escapeXmlAttr } from './xml-escape.js';

const SOAP_BINDING_NS = new Set(['http://schemas.xmlsoap.org/wsdl/soap/', 'http://schemas.xmlsoap.org/wsdl/soap12/']);
const XMLNS_DECL = /\sxmlns:([\w.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const ADDRESS = /<([\w.-]+):address\b[^>]*?\slocation\s*=\s*("([^"]*)"|'([^']*)')/g;

export interface WsdlDocument {
  /** The WSDL with every SOAP address location set to `location` (escaped here). */
  render(location: string): string;
  /** How many soap:address locations are rewritten (1 for our WSDLs). */
  readonly addressCount: number;
}

export function createWsdlDocument(xml: string): WsdlDocument {
  // Prefixes bound to the SOAP binding namespaces (declared on the root in WCF WSDLs, but any element counts).
  const soapPrefixes = new Set<string>();
  for (const m of xml.matchAll(XMLNS_DECL)) {
    if (SOAP_BINDING_NS.has(m[2] ?? m[3] ?? '')) soapPrefixes.add(m[1]);
  }
  const pieces: string[] = [];
  let last = 0;
  for (const m of xml.matchAll(ADDRESS)) {
    if (!soapPrefixes.has(m[1])) continue;
    // start of the value = end of match minus the quoted value (+1 for the opening quote)
    const valueEnd = (m.index ?? 0) + m[0].length - 1;
    const valueStart = valueEnd - (m[3] ?? m[4] ?? '').length;
    pieces.push(xml.slice(last, valueStart));
    last = valueEnd;
  }
  pieces.push(xml.slice(last));
  return {
    addressCount: pieces.length - 1,
    render: (location) => (pieces.length === 1 ? pieces[0] : pieces.join(escapeXmlAttr(location))),
  };
}

/**
 * Whether a query string asks for the WSDL: `wsdl`, `wsdl=wsdl0` or `singleWsdl`, names case-insensitive, as the
 * first parameter (WCF's forms; every generator we know asks for `?wsdl`).
 */
export function isWsdlQuery(query: string): boolean {
  const first = query.split('&', 1)[0];
  const eq = first.indexOf('=');
  const name = (eq < 0 ? first : first.slice(0, eq)).toLowerCase();
  const value = eq < 0 ? '' : decodeURIComponentSafe(first.slice(eq + 1)).toLowerCase();
  if (name === 'singlewsdl') return true;
  return name === 'wsdl' && (value === '' || value === 'wsdl0');
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
