import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { type Db, MongoClient } from 'mongodb';
import type { Driver } from 'neo4j-driver';
import { connectGraph, mongoOptions } from '../../lib/clients';
import { loadConfig, sharedNamespaceEnv, type Config } from '../../lib/config';

/**
 * Test wiring against the real local stack. Each suite gets its own MongoDB database and a unique id prefix,
 * so suites never see each other's data, and a fresh Temporal task queue per test.
 */

export function uniqueId(prefix = 't'): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

/** A fresh database, and task queues and schedule ids named after it unless the overrides choose a prefix. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MONGODB_DB: uniqueId('feedflow_test_'),
    LOG_LEVEL: 'silent',
    ...overrides,
  };
  if (overrides.TASK_QUEUE_PREFIX === undefined) delete env.TASK_QUEUE_PREFIX;
  return loadConfig(sharedNamespaceEnv(env));
}

export interface TestStores {
  config: Config;
  mongo: MongoClient;
  db: Db;
  graph: Driver;
  close(): Promise<void>;
}

export async function openStores(overrides: Record<string, string> = {}): Promise<TestStores> {
  const config = testConfig(overrides);
  const mongo = await MongoClient.connect(config.MONGODB_URI, mongoOptions(config));
  const db = mongo.db(config.MONGODB_DB);
  const graph = connectGraph(config);
  return {
    config,
    mongo,
    db,
    graph,
    async close() {
      await db.dropDatabase().catch(() => undefined);
      await mongo.close();
      await graph.close();
    },
  };
}

/** The running dev server; never downloads a binary. */
export async function temporalEnv(config: Config): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
  });
}
