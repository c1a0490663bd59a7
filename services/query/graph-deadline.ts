import { DomainError } from '../../domain/errors';
import type { Graph } from '../../stores/graph';
import type { ReadTimeSources } from '../../stores/read-time';

/**
 * The graph as the query side reads it. The driver retries a graph it cannot reach for up to 30 s; a caller
 * waits at most `ms`: GetNetwork then answers UNAVAILABLE, and feeds leave discovery out (`optionalDiscovery`).
 */
export function boundedGraph(graph: Graph, ms: number): Graph {
  return { ...graph, network: (...args) => within(graph.network(...args), ms) };
}

/** Discovery is a garnish: when the graph fails or is slow, a feed serves its pushed and pulled items without it. */
export function optionalDiscovery(
  readTime: ReadTimeSources,
  onFailure: (err: unknown, viewerId: string) => void,
): ReadTimeSources {
  return {
    ...readTime,
    discoveryAuthors: (viewerId) =>
      readTime.discoveryAuthors(viewerId).catch((err: unknown) => {
        onFailure(err, viewerId);
        return [];
      }),
  };
}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new DomainError('unavailable', `the graph did not answer within ${ms} ms; retry`, 'GRAPH_UNAVAILABLE')),
      ms,
    );
  });
  // The abandoned read still settles later (the driver gives up on its own); its failure is not unhandled.
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
