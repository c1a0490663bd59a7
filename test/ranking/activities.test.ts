import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/client';
import { createRankingActivities } from '../../activities/ranking';
import { closeEngagementModels } from '../../stores/model';
import { openStores, type TestStores } from '../support/env';
import { WRONG_SCHEMA_MODEL } from './support';

describe('ranking: the scoring activities', function () {
  let stores: TestStores;
  before(async () => (stores = await openStores()));
  after(async () => {
    await stores.close();
    await closeEngagementModels();
  });

  it('reports a model trained against another schema as a typed, retryable failure', async () => {
    const { modelVersion } = createRankingActivities({ db: stores.db, modelPath: WRONG_SCHEMA_MODEL });
    await assert.rejects(modelVersion(), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'ModelSchemaMismatch');
      assert.equal(err.nonRetryable, false);
      return true;
    });
  });
});
