import { strict as assert } from 'node:assert';
import { loadConfig } from '../../lib/config';

describe('config defaults', () => {
  it('sweeps the outbox every 10 s, so a crashed command is projected within seconds', () => {
    assert.equal(loadConfig({}).OUTBOX_SCHEDULE_INTERVAL_MS, 10_000);
  });
});
