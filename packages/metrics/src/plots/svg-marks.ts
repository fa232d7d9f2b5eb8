const ITEM_TAGS: Record<string, string> = {
  arc: 'path',
  area: 'path',
  image: 'image',
  line: 'path',
  path: 'path',
  rect: 'path',
  rule: 'line',
  shape: 'path',
  symbol: 'path',
  text: 'text',
  trail: 'path',
};

/**
 * How many items a named mark drew in an SVG rendered by Vega: the elements inside every
 * `<g class="mark-… role-mark {name}">` group (Vega-Lite names a layer's marks `{layer name}_marks`).
 * Useful to check a plot shows what it should (e.g. 100 cells for a 10-class confusion matrix).
 */
export function countMarkItems(svg: string, markName: string): number {
  const escaped = markName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const opening = new RegExp(`<g class="mark-(\\w+) role-mark ${escaped}"[^>]*>`, 'g');
  let total = 0;
  for (const match of svg.matchAll(opening)) {
    const tag = ITEM_TAGS[match[1]] ?? 'path';
    const start = match.index + match[0].length;
    const tags = /<(\/?)(g|[a-z]+)\b[^>]*?(\/?)>/g;
    tags.lastIndex = start;
    let depth = 1;
    for (let m = tags.exec(svg); m && depth > 0; m = tags.exec(svg)) {
      if (m[2] === 'g') {
        if (m[1] === '/') depth--;
        else if (m[3] !== '/') depth++;
      } else if (m[1] !== '/' && m[2] === tag && depth === 1) {
        total++;
      }
    }
  }
  return total;
}
