/**
 * xs:dateTime on the wire, the WCF way.
 *
 * Output: WCF's DataContractSerializer writes a DateTime of Kind=Unspecified as `yyyy-MM-ddTHH:mm:ss.FFFFFFF`
 * with no offset and trailing fraction zeros dropped (`2023-11-05T14:03:27.1234567`, `0001-01-01T00:00:00`).
 * Emitting `Z` would turn every date into Kind=Utc in .NET clients (a visible time shift in their code), so we
 * write the offset-less form of the instant's UTC wall-clock time, with JavaScript's millisecond precision.
 *
 * Input: a value without an offset is read as UTC (never the process time zone); `Z` and `+hh:mm` are honoured.
 * Fractions beyond milliseconds are truncated, as .NET ticks would be when converted to milliseconds.
 */

const MIN_YEAR = 1;
const MAX_YEAR = 9999;

/** The instant WCF clients send for an unset DateTime (DateTime.MinValue). */
export const WCF_MIN_DATE_TIME: Date = minDate();

function minDate(): Date {
  const d = new Date(0);
  d.setUTCFullYear(1, 0, 1);
  d.setUTCHours(0, 0, 0, 0);
  return d;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Fraction digits of a millisecond count without trailing zeros: 120 -> '12', 5 -> '005'. */
function fraction(ms: number): string {
  if (ms % 100 === 0) return String(ms / 100);
  if (ms % 10 === 0) return pad2(ms / 10);
  return ms < 10 ? `00${ms}` : ms < 100 ? `0${ms}` : String(ms);
}

// Built from the UTC fields rather than from toISOString(): a GetAllWebhooks response writes two dates per webhook,
// and slicing and trimming the ISO string took several times as long.
export function formatWcfDateTime(value: Date): string {
  const t = value.getTime();
  if (Number.isNaN(t)) throw new TypeError('Invalid Date cannot be written as xs:dateTime');
  const year = value.getUTCFullYear();
  if (year < MIN_YEAR || year > MAX_YEAR) throw new TypeError(`Date outside the DateTime range: ${value.toISOString()}`);
  const y = year < 1000 ? String(year).padStart(4, '0') : String(year);
  const text = `${y}-${pad2(value.getUTCMonth() + 1)}-${pad2(value.getUTCDate())}T${pad2(value.getUTCHours())}:${pad2(value.getUTCMinutes())}:${pad2(value.getUTCSeconds())}`;
  const ms = value.getUTCMilliseconds();
  return ms === 0 ? text : `${text}.${fraction(ms)}`;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function offsetMinutes(tz: string | undefined): number | null {
  if (!tz || tz === 'Z') return 0;
  const sign = tz[0] === '-' ? -1 : 1;
  const h = Number(tz.slice(1, 3));
  const m = Number(tz.slice(4, 6));
  if (h > 14 || m > 59 || (h === 14 && m > 0)) return null;
  return sign * (h * 60 + m);
}

function build(
  y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, tz: string | undefined,
): Date | null {
  if (y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  // 24:00:00 is the XSD spelling of the next midnight.
  if (h === 24 ? mi !== 0 || s !== 0 || ms !== 0 : h > 23) return null;
  if (mi > 59 || s > 59) return null;
  const off = offsetMinutes(tz);
  if (off === null) return null;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi - off, s, ms);
  return date;
}

/** Parse xs:dateTime (or, with dateOnly, xs:date); null when the text is not a valid value. */
export function parseXsdDateTime(text: string, dateOnly = false): Date | null {
  const t = text.trim();
  if (dateOnly) {
    const m = DATE_ONLY.exec(t);
    if (!m) return null;
    return build(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, 0, 0, m[4]);
  }
  const m = DATE_TIME.exec(t);
  if (!m) return null;
  const ms = m[7] ? Number((m[7] + '00').slice(0, 3)) : 0;
  return build(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms, m[8]);
}
