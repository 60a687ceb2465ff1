// The replica-has-caught-up test the replication guard relies on: entryCSN values folded per
// origin, and a replica behind a target while any origin's newest stamp is older.
import { describe, expect, it } from 'vitest';
import { behindOn, foldStamp, type StampVector } from '../../src/directory/change-stamps.js';

const csn = (time: string, sid = '000', count = '000000') => `${time}.000000Z#${count}#${sid}#000000`;

describe('change stamps', () => {
  it('keeps the newest stamp per origin and ignores values in another form', () => {
    const v: StampVector = {};
    foldStamp(v, csn('20261202010101'));
    foldStamp(v, csn('20261202010103'));
    foldStamp(v, csn('20261202010102'));
    foldStamp(v, csn('20261202010100', '001'));
    foldStamp(v, '20261202010109Z'); // a modifyTimestamp, not a CSN
    foldStamp(v, undefined);
    expect(v).toEqual({ '000': csn('20261202010103'), '001': csn('20261202010100', '001') });
  });

  it('a replica is behind on an origin whose newest stamp is older, or missing; not when newer', () => {
    const target = { '000': csn('20261202010103'), '001': csn('20261202010100', '001') };
    expect(behindOn({ '000': csn('20261202010103'), '001': csn('20261202010100', '001') }, target)).toEqual([]);
    expect(behindOn({ '000': csn('20261202010109'), '001': csn('20261202010100', '001') }, target)).toEqual([]);
    expect(behindOn({ '000': csn('20261202010102'), '001': csn('20261202010100', '001') }, target)).toEqual(['000']);
    expect(behindOn({ '000': csn('20261202010103', '000', '000001') }, target)).toEqual(['001']);
    // Same second, later change count: caught up.
    expect(behindOn({ '000': csn('20261202010103', '000', '000002'), '001': csn('20261202010100', '001') }, { '000': csn('20261202010103', '000', '000001') })).toEqual([]);
  });

  it('a server that keeps no stamps (or no target) is judged on the counts alone', () => {
    expect(behindOn({}, { '000': csn('20261202010103') })).toEqual([]);
    expect(behindOn({ '000': csn('20261202010103') }, undefined)).toEqual([]);
  });
});
