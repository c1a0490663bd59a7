import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  type Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from '../../gen/grpc/health/v1/health_pb';

/** Serving status per service name; "" is the whole server. Flipped to NOT_SERVING when the server drains. */
export class HealthState {
  private readonly statuses = new Map<string, Status>();
  private readonly listeners = new Set<() => void>();

  set(service: string, status: Status): void {
    this.statuses.set(service, status);
    for (const notify of this.listeners) notify();
  }

  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  /** Marks every known service, and the server itself, as not serving. */
  drain(): void {
    for (const name of [...this.statuses.keys()]) this.set(name, Status.NOT_SERVING);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** grpc.health.v1.Health backed by a HealthState. */
export function createHealthService(state: HealthState): ServiceImpl<typeof Health> {
  return {
    /** Answers the current status, or NOT_FOUND for a service this server does not host. */
    check(req) {
      const status = state.get(req.service);
      if (status === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status });
    },
    /** Streams the status now and on every change, until the caller or the server goes away. */
    async *watch(req, ctx) {
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const status = state.get(req.service) ?? Status.SERVICE_UNKNOWN;
        if (status !== last) {
          last = status;
          yield create(HealthCheckResponseSchema, { status });
        }
        await new Promise<void>((resolve) => {
          const off = state.onChange(() => {
            off();
            resolve();
          });
          ctx.signal.addEventListener('abort', () => {
            off();
            resolve();
          });
        });
      }
    },
  };
}
