/**
 * Guards the saxon-js 2.7.0 internal API we depend on (XPath.compile / evaluateOnly) and the
 * collation pitfall: evaluateOnly has no collation table, so functions taking the default
 * collation used to throw "Cannot read properties of undefined (reading 'sc')".
 */
import { compileXPath, evaluateCompiled, parseXml } from '../../engine/validation/saxon';

describe('saxon-js compiled XPath', () => {
  const doc = parseXml('<a xmlns="urn:x"><b c="1"/><b c="2"/><b c="1"/><d>Hello world</d></a>');
  const ns = { x: 'urn:x' };

  it('is pinned to 2.7.0', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect((require('saxon-js/package.json') as { version: string }).version).toBe('2.7.0');
  });

  it.each([
    ['count(distinct-values(//x:b/@c))', 2],
    ["contains(string(//x:d), 'world')", true],
    ["starts-with(string(//x:d), 'Hello')", true],
    ["substring-before('ab', 'b')", 'a'],
    ["index-of(('a', 'b'), 'b')", 2],
    ["compare('a', 'b')", -1],
    ["min(('b', 'a'))", 'a'],
    ['deep-equal((1, 2), (1, 2))', true],
    ["//x:b/@c = '2'", true],
  ])('%s (collation-dependent functions work)', (expr, expected) => {
    const pkg = compileXPath(expr, { namespaces: ns, params: [] });
    expect(evaluateCompiled(pkg, doc, {})).toEqual([expected]);
  });

  it('compiles once and evaluates many times with parameters, let included', () => {
    const pkg = compileXPath('let $z := $y return count(//x:b[@c = $z])', { namespaces: ns, params: ['y'] });
    expect(evaluateCompiled(pkg, doc, { y: ['1'] })).toEqual([2]);
    expect(evaluateCompiled(pkg, doc, { y: ['2'] })).toEqual([1]);
    expect(evaluateCompiled(pkg, doc, { y: [] })).toEqual([0]);
  });

  it('throws a coded error on a syntax error', () => {
    expect(() => compileXPath('count(', { namespaces: {}, params: [] })).toThrow(expect.objectContaining({ code: 'PSL_VALIDATION_XPATH' }));
  });
});
