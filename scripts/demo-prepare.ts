/**
 * Run by scripts/demo.sh before the services start. The demo replays its commands by request id, so a second run
 * changes nothing. A demo database seeded by an older version of the story (see demo-seed.ts) is dropped with its
 * members' graph nodes, so the story starts clean under the new version's ids.
 */
import { connectGraph, connectMongo } from '../lib/clients';
import { loadConfig } from '../lib/config';
import { createGraph } from '../stores/graph';
import { DEMO_SEED_VERSION } from './demo-seed';

async function main(): Promise<void> {
  const config = loadConfig();
  const { mongo, db } = await connectMongo(config);
  const driver = connectGraph(config);
  try {
    const meta = db.collection<{ _id: string; version: number }>('demo_meta');
    const seeded = await meta.findOne({ _id: 'seed' });
    const users = await db
      .collection('users')
      .find({}, { projection: { _id: 1 } })
      .toArray();
    if (seeded?.version === DEMO_SEED_VERSION || (!seeded && users.length === 0)) {
      await meta.updateOne({ _id: 'seed' }, { $set: { version: DEMO_SEED_VERSION } }, { upsert: true });
      return;
    }
    console.log(`[demo] database ${config.MONGODB_DB} holds an older demo (${users.length} members): starting clean`);
    await createGraph(driver, config.GRAPH_DIALECT).removeUsers(users.map((u) => String(u._id)));
    await db.dropDatabase();
    await meta.insertOne({ _id: 'seed', version: DEMO_SEED_VERSION });
  } finally {
    await driver.close();
    await mongo.close();
  }
}

main().catch((err) => {
  console.error(`[demo] prepare failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
