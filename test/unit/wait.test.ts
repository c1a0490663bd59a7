import { strict as assert } from 'node:assert';
import { waitFor } from '../support/wait';

describe('waitFor', () => {
  it('returns what the condition answers once it holds, polling past undefined, null, false and errors', async () => {
    const answers: unknown[] = [undefined, null, false, new Error('not up yet'), 'ready'];
    let probes = 0;
    const value = await waitFor(
      () => {
        const a = answers[probes++];
        if (a instanceof Error) throw a;
        return a as string | undefined;
      },
      { message: 'the fifth probe', intervalMs: 1 },
    );
    assert.equal(value, 'ready');
    assert.equal(probes, 5);
  });

  it('fails naming what it waited for and the last probe error', async () => {
    await assert.rejects(
      waitFor(
        async () => {
          throw new Error('connection refused');
        },
        { message: 'the server to listen', timeoutMs: 20, intervalMs: 5 },
      ),
      /timed out after 20 ms waiting for the server to listen; the last probe failed: Error: connection refused/,
    );
    await assert.rejects(
      waitFor(() => false, { message: 'never', timeoutMs: 10, intervalMs: 5 }),
      /waiting for never$/,
    );
  });
});
