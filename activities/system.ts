import type { Db } from 'mongodb';
import type { Driver } from 'neo4j-driver';
import type { PingResult } from '../pipeline/contracts/operations';
import { pingGraph } from '../stores/graph';

export interface SystemDeps {
  db: Db;
  graph: Driver;
}

/** The activities of createSystemActivities, as workflows proxy them. */
export interface SystemActivities {
  pingStores(message: string): Promise<PingResult>;
}

/** Health activities: each round-trips one record through a store. */
export function createSystemActivities({ db, graph }: SystemDeps): SystemActivities {
  return {
    async pingStores(message: string): Promise<PingResult> {
      const pings = db.collection<{ _id: string; message: string; at: Date }>('system_pings');
      await pings.updateOne({ _id: message }, { $set: { message, at: new Date() } }, { upsert: true });
      const stored = await pings.findOne({ _id: message });
      const graphRoundTrip = await pingGraph(graph, message);
      return { message, mongoRoundTrip: stored?.message === message, graphRoundTrip };
    },
  };
}
