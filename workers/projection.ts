import { createSystemActivities } from '../activities/system';
import { exitOnFailure } from '../lib/main';
import { runProjectionWorker } from './shared';

/** The projection worker: fan-out, update, backfill, profile and engagement workflows and their activities. */
exitOnFailure(
  runProjectionWorker('worker-projection', 'projection', ({ db, driver }) =>
    createSystemActivities({ db, graph: driver }),
  ),
);
