import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cdataAsText } from '../soap/node-soap-oracle.js';

test('CDATA sections become escaped text; comments are left alone', () => {
  assert.equal(cdataAsText('<a>x<![CDATA[<y>]]>&amp;<![CDATA[]]]]><![CDATA[>]]></a>'), '<a>x&lt;y&gt;&amp;]]&gt;</a>');
  assert.equal(cdataAsText('<a><!-- <![CDATA[ --><b>1</b></a>'), '<a><!-- <![CDATA[ --><b>1</b></a>');
  assert.equal(cdataAsText('<a><![CDATA[&amp;]]></a>'), '<a>&amp;amp;</a>');
  const plain = '<a>no sections</a>';
  assert.equal(cdataAsText(plain), plain);
});
