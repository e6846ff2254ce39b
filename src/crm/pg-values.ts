/**
 * PostgreSQL's forms in the CRM source (pure): LSNs as numbers and pgoutput's text values as the JSON values of a
 * NetServer payload.
 */
import type { CrmValue } from './crm-families.js';

/** LSN text (X/Y in hex) -> number of bytes; comparable and subtractable. */
export function lsnToBigInt(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi || '0'}`) << 32n) + BigInt(`0x${lo || '0'}`);
}

/** Same form for every LSN, so a stored cursor reads back the same way. */
export function normalLsn(lsn: string): string {
  const n = lsnToBigInt(lsn);
  return `${(n >> 32n).toString(16).toUpperCase().padStart(8, '0')}/${(n & 0xffffffffn).toString(16).toUpperCase().padStart(8, '0')}`;
}

const netMinDate = '0001-01-01T00:00:00';
const dateTypes = new Set([1082, 1114, 1184]);

/** .NET's round-trip text drops trailing fraction zeros; PostgreSQL's offset "+02" becomes "+02:00". */
function netDateTime(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(text);
  if (!m) return text;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  let zone = m[4] ?? '';
  if (/^[+-]\d{2}$/.test(zone)) zone = `${zone}:00`;
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return `${m[1]}T${m[2]}${frac ? `.${frac}` : ''}${zone}`;
}

/**
 * pgoutput's text form of a value -> its JSON value in a payload: integers and numerics as numbers, booleans,
 * dates in .NET's form (a NULL date is DateTime.MinValue, as NetServer writes "DeletedDate": "0001-01-01T00:00:00").
 */
export function pgTextToValue(typeOid: number, text: string | null | undefined): CrmValue {
  if (text === null || text === undefined) return dateTypes.has(typeOid) ? netMinDate : null;
  switch (typeOid) {
    case 16: return text === 't';
    case 20: case 21: case 23: case 26: case 700: case 701: case 1700: {
      const n = Number(text);
      return Number.isFinite(n) && (typeOid !== 20 || Number.isSafeInteger(n)) ? n : text;
    }
    case 1082: return `${text}T00:00:00`;
    case 1114: case 1184: return netDateTime(text);
    default: return text;
  }
}

