import { describe, expect, it } from 'vitest';
import { markdownTable } from './markdown.js';

describe('markdownTable', () => {
  it('writes a header, a rule and one line per row, escaping pipes and line breaks', () => {
    expect(markdownTable(['arm', 'reason'], [['a|b', 'line 1\nline 2']])).toBe(
      '| arm | reason |\n| --- | --- |\n| a\\|b | line 1 line 2 |',
    );
  });
});
