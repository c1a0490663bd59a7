import { MongoClient } from 'mongodb';
(async () => {
  const m = await MongoClient.connect('mongodb://127.0.0.1:27017');
  const db = m.db('feedflow_demo');
  const items = await db.collection('feed_items').find({ postId: 'p252c66268a906306e77e' }).toArray();
  console.log(items.map((i) => [i._id, i.viewerId, i.reason]));
  const byId = await db.collection('feed_items').findOne({ _id: 'u9204120030e376abe5e5:p252c66268a906306e77e' as never });
  console.log('by id', byId?._id, byId?.viewerId);
  const r = await db.command({ explain: { find: 'feed_items', filter: { viewerId: 'u9204120030e376abe5e5' } } });
  console.log(JSON.stringify(r.queryPlanner).slice(0, 400));
  await m.close();
})();
