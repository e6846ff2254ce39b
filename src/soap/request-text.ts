/**
 * Media type and charset handling for incoming requests. The WSDL has only a SOAP 1.1 binding, so like WCF's
 * basicHttpBinding we take `text/xml` only (a SOAP 1.2 `application/soap+xml` request gets 415). Bodies are
 * UTF-8 (with or without BOM) or UTF-16 with a BOM or an explicit LE/BE charset; other charsets get 415.
 */
import { SoapProtocolError } from './soap-fault.js';

export interface MediaType {
  type: string;
  params: Record<string, string>;
}

const PARAM = /;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;

export function parseContentType(header: string | undefined): MediaType | null {
  if (!header) return null;
  const semi = header.indexOf(';');
  const type = (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = {};
  if (semi >= 0) {
    for (const m of header.slice(semi).matchAll(PARAM)) {
      let v = m[2].trim();
      if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
      params[m[1].toLowerCase()] = v;
    }
  }
  return { type, params };
}

/** Throws a 415 SoapProtocolError unless the request is text/xml. */
export function requireTextXml(header: string | undefined): MediaType {
  const mt = parseContentType(header);
  if (!mt || mt.type !== 'text/xml') {
    const what = mt ? `'${mt.type}'` : 'missing';
    throw new SoapProtocolError(415, 'Client',
      `Cannot process the message because the content type ${what} was not the expected type 'text/xml; charset=utf-8'.`);
  }
  return mt;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const UTF16LE = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: false });
const UTF16BE = new TextDecoder('utf-16be', { fatal: true, ignoreBOM: false });

function decodeWith(d: TextDecoder, buf: Uint8Array): string {
  try {
    return d.decode(buf);
  } catch {
    throw new SoapProtocolError(500, 'Client', `The request body is not valid ${d.encoding.toUpperCase()}.`);
  }
}

/** Decode the raw body per the Content-Type charset (or its BOM when there is none). TextDecoder drops the BOM. */
export function decodeRequestText(buf: Uint8Array, mediaType: MediaType): string {
  const cs = mediaType.params.charset?.toLowerCase();
  const bomLE = buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe;
  const bomBE = buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff;
  switch (cs) {
    case undefined:
      if (bomLE) return decodeWith(UTF16LE, buf);
      if (bomBE) return decodeWith(UTF16BE, buf);
      return decodeWith(UTF8, buf);
    case 'utf-8':
    case 'utf8':
    case 'us-ascii':
      return decodeWith(UTF8, buf);
    case 'utf-16':
      if (bomLE) return decodeWith(UTF16LE, buf);
      if (bomBE) return decodeWith(UTF16BE, buf);
      break;
    case 'utf-16le':
      return decodeWith(UTF16LE, buf);
    case 'utf-16be':
      return decodeWith(UTF16BE, buf);
    default:
      break;
  }
  throw new SoapProtocolError(415, 'Client',
    `Cannot process the message because the charset '${cs}' is not supported; use utf-8.`);
}
