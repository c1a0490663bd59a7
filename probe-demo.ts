import { MongoClient } from 'mongodb';
(async () => {
  const m = await MongoClient.connect('mongodb://127.0.0.1:27017');
  const db = m.db('feedflow_demo');
  const ada = 'u9204120030e376abe5e5';
  console.log('ada items', await db.collection('feed_items').countDocuments({ viewerId: ada }));
  console.log('ada items find', (await db.collection('feed_items').find({ viewerId: ada }).toArray()).length);
  const posts = await db.collection('posts').find({ authorId: ada }).toArray();
  console.log('ada posts', posts.map((p) => [p._id, p.visibility, p.deleted, p.version]));
  for (const p of posts) console.log('items of', p._id, await db.collection('feed_items').countDocuments({ postId: p._id }));
  const ev = await db.collection('events').find({ aggregateId: posts[0]?._id }).toArray();
  console.log('events', ev.map((e) => [e._id, e.status]));
  await m.close();
})();
