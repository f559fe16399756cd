// Shared by the report tests: a small well-formedness check for the HTML and SVG the reports emit.
import assert from 'node:assert/strict';

const VOID = new Set(['meta', 'link', 'br', 'hr', 'img', 'input', 'wbr']);

/** Checks that tags balance and that text and attributes carry no raw < or bare &. */
export function assertWellFormed(doc: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!doctype html>/gi;
  let last = 0;
  for (let m = tag.exec(doc); m; m = tag.exec(doc)) {
    const text = doc.slice(last, m.index);
    assert.ok(!text.includes('<'), `stray '<' before offset ${m.index}: ${JSON.stringify(text.slice(0, 80))}`);
    assert.ok(!/&(?!(?:amp|lt|gt|quot|#\d+);)/.test(text + (m[3] ?? '')), `bare '&' near offset ${m.index}`);
    last = tag.lastIndex;
    if (!m[2]) continue; // doctype
    const name = m[2].toLowerCase();
    if (m[1]) assert.equal(stack.pop(), name, `</${name}> closes the wrong element at offset ${m.index}`);
    else if (!m[4] && !VOID.has(name)) stack.push(name);
  }
  assert.ok(!doc.slice(last).includes('<'), 'stray < at end');
  assert.deepEqual(stack, [], `unclosed elements: ${stack.join(', ')}`);
}
