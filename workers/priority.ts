import { exitOnFailure } from '../lib/main';
import { runProjectionWorker } from './shared';

/** The priority worker: deletes and purges, on their own queue so a large fan-out never delays them. */
exitOnFailure(runProjectionWorker('worker-priority', 'priority'));
