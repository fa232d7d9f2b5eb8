/**
 * `x` with `digits` decimals, rounded like Python's `format(x, '.{digits}f')`: on the exact
 * binary value, with exact ties going to the even digit (`0.125 → '0.12'`), where JavaScript's
 * `toFixed` rounds ties up (`'0.13'`).
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const plain = x.toFixed(digits);
  if (Math.abs(x) >= 1e21) return plain;
  // toFixed prints the exact decimal value of the double to as many places as asked (≤ 100).
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 40));
  const point = exact.indexOf('.');
  const rest = exact.slice(point + 1 + digits);
  const isTie = rest[0] === '5' && /^0*$/.test(rest.slice(1));
  if (!isTie) return plain;
  const kept = exact.slice(0, point + 1 + digits).replace(/\.$/, '');
  const lastDigit = Number(kept[kept.length - 1]);
  if (lastDigit % 2 === 1) return plain; // toFixed rounded the tie away from zero, to the even digit
  return `${x < 0 ? '-' : ''}${kept}`;
}

/** `text` right-aligned in a field of `width` characters (Python's `{:>width}`). */
export function padLeft(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}
