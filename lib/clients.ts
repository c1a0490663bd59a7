import { Client, Connection } from '@temporalio/client';
import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import neo4j, { type Driver } from 'neo4j-driver';
import { useFeedCacheRedis } from '../stores/feed-cache';
import type { Config } from './config';

/**
 * Driver options: a store that is down fails an operation within about a second (the caller gets UNAVAILABLE),
 * instead of the driver's 30 s. No socket timeout: a long bulk write or scan is not an outage.
 */
export function mongoOptions(config: Config): MongoClientOptions {
  return {
    serverSelectionTimeoutMS: config.MONGODB_SERVER_SELECTION_TIMEOUT_MS,
    connectTimeoutMS: config.MONGODB_CONNECT_TIMEOUT_MS,
    maxPoolSize: 50,
  };
}

export async function connectMongo(config: Config): Promise<{ mongo: MongoClient; db: Db }> {
  const mongo = new MongoClient(config.MONGODB_URI, mongoOptions(config));
  await mongo.connect();
  // Every process that writes feed items or serves feeds connects here: the feed cache's Redis goes with the
  // database whose feeds it caches (stores/feed-cache.ts connects on first use).
  useFeedCacheRedis(config.REDIS_URL);
  return { mongo, db: mongo.db(config.MONGODB_DB) };
}

export function connectGraph(config: Config): Driver {
  const auth = config.GRAPH_USER ? neo4j.auth.basic(config.GRAPH_USER, config.GRAPH_PASSWORD) : undefined;
  return neo4j.driver(config.GRAPH_URI, auth, { disableLosslessIntegers: true, maxConnectionPoolSize: 50 });
}

export async function connectTemporal(config: Config): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}
