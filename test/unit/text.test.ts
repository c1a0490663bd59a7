import { strict as assert } from 'node:assert';
import { nulField } from '../../services/shared/text';

describe('nulField', () => {
  it('names the first string holding a NUL by its proto path', () => {
    assert.equal(nulField({ $typeName: 'x.Req', displayName: 'A\0' }, ''), 'display_name');
    const nested = { $typeName: 'x.Req', filter: { $typeName: 'x.F', failureContains: 'a\0b' } };
    assert.equal(nulField(nested, ''), 'filter.failure_contains');
    assert.equal(nulField({ $typeName: 'x.Req', mediaUrls: ['ok', '\0'] }, ''), 'media_urls[1]');
    assert.equal(nulField({ $typeName: 'x.Req', body: { case: 'textNote', value: 'x\0' } }, ''), 'text_note');
    assert.equal(nulField({ $typeName: 'x.Req', labels: { 'k\0': 'v' } }, ''), 'labels[key]');
  });

  it('finds nothing in clean requests, bytes included', () => {
    const clean = { $typeName: 'x.Req', a: 'text', n: 3, b: new Uint8Array([0]), list: ['x'], m: { k: 'v' } };
    assert.equal(nulField(clean, ''), undefined);
  });
});
