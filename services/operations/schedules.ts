import type { Client } from '@temporalio/client';
import { invalid } from '../../domain/errors';
import type { ScheduleState } from '../../gen/feedflow/v1/operations_pb';
import { SCHEDULES } from '../../pipeline/schedules';

/** The schedule controls and the status page's Temporal reads, shared by parallel callers. */

export type ScheduleStateMessage = Omit<ScheduleState, '$typeName' | '$unknown'>;

/** How long a description of the schedules (or a count of running workflows) serves later callers. */
export const STATUS_TTL_MS = 1_000;
/** Longest schedule note, in UTF-8 bytes: a note is a line for the Temporal UI, not a document. */
const MAX_NOTE_BYTES = 1023;

export function noteOf(note: string, fallback: string): string {
  const bytes = Buffer.byteLength(note, 'utf8');
  if (bytes > MAX_NOTE_BYTES) throw invalid(`note is ${bytes} bytes; it must be under 1024 (1 KiB)`);
  return note || fallback;
}

/**
 * `load` shared: callers while it runs join it, and its answer serves for `ttlMs` after. A failure is not kept.
 * `clear()` makes the next call load afresh.
 */
export function shared<T>(load: () => Promise<T>, ttlMs: number): { get(): Promise<T>; clear(): void } {
  let current: { value: Promise<T>; at: number } | undefined;
  return {
    get() {
      if (current && Date.now() - current.at < ttlMs) return current.value;
      const entry = { value: load(), at: Date.now() };
      current = entry;
      entry.value.then(
        () => (entry.at = Date.now()),
        () => current === entry && (current = undefined),
      );
      return entry.value;
    },
    clear() {
      current = undefined;
    },
  };
}

export interface ScheduleControls {
  states(): Promise<ScheduleStateMessage[]>;
  pause(note: string): Promise<ScheduleStateMessage[]>;
  resume(note: string): Promise<ScheduleStateMessage[]>;
}

/** Describes, pauses and resumes a deployment's schedules, all of them at once. */
export function createScheduleControls(temporal: Client, taskQueuePrefix: string): ScheduleControls {
  const ids = Object.values(SCHEDULES).map((s) => taskQueuePrefix + s);
  const states = shared(async (): Promise<ScheduleStateMessage[]> => {
    const described = await Promise.all(
      ids.map(async (scheduleId) => {
        try {
          const d = await temporal.schedule.getHandle(scheduleId).describe();
          return { scheduleId, paused: d.state.paused, note: d.state.note ?? '' };
        } catch {
          // Not created yet (no projection worker has started): nothing to report or pause.
          return undefined;
        }
      }),
    );
    return described.filter((s) => s !== undefined);
  }, STATUS_TTL_MS);

  /** Applies `act` to every schedule, and answers their states as the action left them. */
  async function each(act: (id: string) => Promise<void>, paused: boolean, note: string) {
    const known = await states.get();
    try {
      await Promise.all(known.map((s) => act(s.scheduleId)));
    } finally {
      states.clear();
    }
    return known.map((s) => ({ scheduleId: s.scheduleId, paused, note }));
  }

  return {
    states: () => states.get(),
    pause: (note: string) => each((id) => temporal.schedule.getHandle(id).pause(note), true, note),
    resume: (note: string) => each((id) => temporal.schedule.getHandle(id).unpause(note), false, note),
  };
}
