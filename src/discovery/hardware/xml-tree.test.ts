import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childrenOf, parseXml, textAt, XmlSyntaxError } from './xml-tree.js';
import { readFixture } from './test-fixtures.js';

describe('parseXml', () => {
  it('reads a recorded nvidia-smi report past its declaration and DOCTYPE', () => {
    const root = parseXml(readFixture('nvidia-smi-q-x-1xT4.xml'));
    assert.equal(root.name, 'nvidia_smi_log');
    assert.equal(textAt(root, 'driver_version'), '515.105.01');
    assert.equal(childrenOf(root, 'gpu')[0]?.attributes['id'], '00000000:00:1E.0');
  });

  it('keeps self-closing elements as empty children', () => {
    const gpu = childrenOf(parseXml(readFixture('nvidia-smi-q-x-A100-SXM4-MIG-1of4.xml')), 'gpu')[0];
    assert.equal(textAt(gpu, 'processes'), '');
    assert.equal(textAt(gpu, 'accounted_processes'), '');
  });

  it('decodes entities and CDATA, and skips comments', () => {
    const root = parseXml(`<a x='1 &amp; 2'><!-- note --><b>&lt;ok&gt; &#65;&#x42;</b><c><![CDATA[<raw>]]></c></a>`);
    assert.equal(root.attributes['x'], '1 & 2');
    assert.equal(textAt(root, 'b'), '<ok> AB');
    assert.equal(textAt(root, 'c'), '<raw>');
  });

  it('refuses mismatched and unclosed tags with a named error', () => {
    assert.throws(() => parseXml('<a><b></a>'), XmlSyntaxError);
    assert.throws(() => parseXml('<a><b></b>'), XmlSyntaxError);
    assert.throws(() => parseXml('NVIDIA-SMI has failed'), XmlSyntaxError);
  });
});
