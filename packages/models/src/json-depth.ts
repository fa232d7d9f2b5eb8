/**
 * How deeply JSON nests, measured before it is parsed or walked: `JSON.parse`, `JSON.stringify`
 * and every recursive walk overflow the stack on input nested tens of thousands of levels deep,
 * with a `RangeError` that names no file. A spec nests 4 levels, a model.json about 10.
 */

/** Nesting deeper than this is refused in spec files and model.json. */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of `[`/`{` in JSON text, counting up to `limit + 1` and stopping there. */
export function jsonTextDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/** The deepest nesting of arrays and objects in a parsed value, up to `limit + 1`, without recursion. */
export function valueDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    const d = depth + 1;
    if (d > deepest) {
      deepest = d;
      if (deepest > limit) return deepest;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d]);
  }
  return deepest;
}
