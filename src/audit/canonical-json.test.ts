import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from './canonical-json.ts';

test('object keys are sorted by UTF-16 code units, as RFC 8785 section 3.2.3 orders them', () => {
  // The RFC's own sorting example: keys in the order the spec gives after sorting.
  const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
  const out = canonicalJson(input);
  const order = ['Carriage Return', 'One', 'Control', 'Latin Small', 'Euro', 'Emoji', 'Hebrew'].map((w) => out.indexOf(w));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
});

test('numbers serialise as ECMAScript does, which is the RFC 8785 number form', () => {
  assert.equal(canonicalJson([333333333.33333329, 1e30, 4.5, 2e-3, 0.000001, 1e-7, -0, 9007199254740991]), '[333333333.3333333,1e+30,4.5,0.002,0.000001,1e-7,0,9007199254740991]');
});

test('the RFC 8785 example object canonicalises to the published bytes', () => {
  const input = JSON.parse('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}') as Parameters<typeof canonicalJson>[0];
  assert.equal(canonicalJson(input), '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
});

test('non-finite numbers and lone surrogates are refused', () => {
  assert.throws(() => canonicalJson(Number.NaN), { code: 'invalid' });
  assert.throws(() => canonicalJson({ a: Number.POSITIVE_INFINITY }), { code: 'invalid' });
  assert.throws(() => canonicalJson('\ud800'), { code: 'invalid' });
});
