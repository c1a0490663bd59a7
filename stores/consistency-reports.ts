import type { Db } from 'mongodb';
import type { ConsistencyReport } from '../domain/findings';

/** A stored check report; `_id` is the check's workflow id and run, `at` when it finished. */
export type ReportDoc = ConsistencyReport & { _id: string; at: Date };

/** The `consistency_reports` collection: written by the checks, read by OperationsService. */
export const reportsOf = (db: Db) => db.collection<ReportDoc>('consistency_reports');
