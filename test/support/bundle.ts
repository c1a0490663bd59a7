import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadWorkflowBundle, type PrebuiltBundle } from '../../workers/bundle';

/** The Temporal runtime of a test process, and the prebuilt workflow bundle every worker and replay loads. */

try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Another suite in this process installed the runtime first; its logger stays.
}

let bundle: Promise<PrebuiltBundle> | undefined;
/** The bundle the workers load, brought up to date by mocha's global setup (test/support/workflow-bundle.ts). */
export function workflowBundle(): Promise<PrebuiltBundle> {
  bundle ??= loadWorkflowBundle();
  return bundle;
}

/**
 * History fixtures as JSON via @temporalio/proto's own message type. `historyToJSON`/`historyFromJSON` from
 * @temporalio/common fail in this install ("type must be a Type"): common and proto each nest their own copy of
 * protobufjs 8, and protojson checks the type's class across the two.
 */
const HistoryType = temporal.api.history.v1.History;
export function historyToFixture(history: temporal.api.history.v1.IHistory): string {
  return JSON.stringify(
    HistoryType.toObject(HistoryType.fromObject(history), { longs: String, enums: String, bytes: String }),
    null,
    1,
  );
}
export function historyFromFixture(json: string): temporal.api.history.v1.IHistory {
  return HistoryType.fromObject(JSON.parse(json));
}
