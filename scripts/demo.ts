/**
 * The demo story, run by scripts/demo.sh once the stack, workers and services are up. It seeds a network with a
 * skewed degree distribution and one high-follower author, runs a short story, and prints two members' feeds.
 * Every command carries a request id, so running the demo again replays instead of duplicating.
 */
import { measureTemporalCeiling } from '../bench/temporal';
import {
  CheckScope,
  Code,
  ConnectError,
  createCommandClient,
  createDiagnosticsClient,
  createOperationsClient,
  createQueryClient,
  FeedReason,
  FeedView,
  PostType,
  Visibility,
} from '../client';
import { connectMongo, connectTemporal } from '../lib/clients';
import { loadConfig } from '../lib/config';
import { TASK_QUEUES } from '../pipeline/queues';
import { writeModel } from '../stores/write-model';
import { pingWorkflow } from '../workflows/ping';
import { searchScene } from './demo-search';
import { demoEmail, demoRequest } from './demo-seed';
import { appsFromArgs, supervise } from './supervise';

const config = loadConfig();
const MEMBERS = Number(process.env.DEMO_MEMBERS ?? 300);
const t0 = Date.now();
const log = (msg: string): void => console.log(`[demo +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const local = (port: number): string => `127.0.0.1:${port}`;
const cmd = createCommandClient({ address: local(config.COMMAND_PORT), token: 'dev-commands' });
const feed = createQueryClient({ address: local(config.QUERY_PORT), token: 'dev-queries' });
/** The app processes demo.sh started; the story stops as soon as one exits. */
const apps = supervise(appsFromArgs(process.argv.slice(2)));
/** Time for a cold process to come up (workers bundle their workflows at start) on a loaded 2-core machine. */
const START_DEADLINE_MS = Number(process.env.DEMO_START_DEADLINE_MS ?? 180_000);
const CHECK_DEADLINE_MS = 300_000;
/** A consistency check answers once its report is in, so its calls get the check's own deadline. */
const ops = createOperationsClient({
  address: local(config.OPERATIONS_PORT),
  token: 'dev-ops',
  defaultTimeoutMs: CHECK_DEADLINE_MS,
});
/** Seeding a fresh demo starts about 1,200 projections; the story waits until they have all run. */
const SEED_DRAIN_DEADLINE_MS = Number(process.env.DEMO_SEED_DRAIN_DEADLINE_MS ?? 900_000);

/** Ignores "already there" answers, so a second demo run passes over what the first one made. */
async function idempotent<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    const code = ConnectError.from(err).code;
    if (code === Code.AlreadyExists || code === Code.FailedPrecondition) return undefined;
    throw err;
  }
}

async function serverUp(port: number): Promise<void> {
  const echo = createDiagnosticsClient({ address: local(port), token: 'dev-commands' });
  while (
    !(await echo.echo({ message: 'ready?' }).then(
      () => true,
      () => false,
    ))
  ) {
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForServers(): Promise<void> {
  const servers = [
    ['command', config.COMMAND_PORT],
    ['query', config.QUERY_PORT],
    ['operations', config.OPERATIONS_PORT],
  ] as const;
  for (const [name, port] of servers) {
    await apps.waitFor(`the ${name} server on :${port}`, serverUp(port), { deadlineMs: START_DEADLINE_MS, on: [name] });
  }
}

/** Runs tasks with bounded concurrency, printing progress at every tenth. */
/** Commands in flight while seeding: enough that the seed outruns the pipeline, so its rate is the pipeline's. */
const SEED_WIDTH = Number(process.env.DEMO_SEED_WIDTH ?? 32);

async function inParallel<T>(label: string, tasks: Array<() => Promise<T>>, width = SEED_WIDTH): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  let done = 0;
  let shown = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]();
        done++;
        if (done * 10 >= (shown + 1) * tasks.length) {
          shown = Math.floor((done * 10) / tasks.length);
          log(`${label}: ${done}/${tasks.length}`);
        }
      }
    }),
  );
  return out;
}

/** A deterministic pseudo-random stream, so every run seeds the same network. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32;
}

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Margaret',
  'Ken',
  'Radia',
  'Leslie',
  'Frances',
  'John',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Hamilton',
  'Thompson',
  'Perlman',
  'Lamport',
];

/**
 * Waits until no projection is running or pending (the schedules' own runs aside), so the story's feeds show the
 * story rather than a backlog: on a fresh stack the seeding leaves several hundred projections queued behind the
 * Temporal dev server.
 */
async function drainProjections(): Promise<void> {
  const projections = new Set(['fanout', 'update', 'delete', 'backfill', 'purge', 'profile', 'engagement']);
  let lastLog = 0;
  for (;;) {
    const status = await ops.getProjectionStatus({});
    const running = Object.entries(status.runningByKind)
      .filter(([kind]) => projections.has(kind))
      .reduce((n, [, count]) => n + count, 0);
    if (running + status.outboxPending === 0) return;
    if (Date.now() - lastLog > 10_000) {
      log(`seeded projections still running: ${running} (+${status.outboxPending} not yet started)`);
      lastLog = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/**
 * The pipeline's rate on the seed: projections the seeding started, over the time from its first command until the
 * last of them finished (the seeding and the pipeline overlap), and the drain left after the last command.
 */
async function reportDrain(seedStart: Date, seededMs: number): Promise<void> {
  const totalMs = Date.now() - seedStart.getTime();
  const { mongo, db } = await connectMongo(config);
  try {
    const projected = await writeModel(db).events.countDocuments({ status: 'started', at: { $gte: seedStart } });
    if (!projected) return log('seed: nothing new to project (every seeded command replayed)');
    const rate = projected / (totalMs / 1000);
    log(
      `seed: ${projected} projections in ${(totalMs / 1000).toFixed(1)}s from the first command ` +
        `(${rate.toFixed(1)} projections/s; commands took ${(seededMs / 1000).toFixed(1)}s, ` +
        `the drain after them ${((totalMs - seededMs) / 1000).toFixed(1)}s); starts: ${await startOutcomes()}`,
    );
    // Temporal's own ceiling on the same server, now: trivial workflows of one local activity (bench:temporal).
    const ceiling = await measureTemporalCeiling({ shapes: ['localActivity'], latencyRuns: 20 });
    const perSec = ceiling.rows[0].workflowsPerSec;
    log(
      `seed: Temporal's ceiling here, one local activity at c=${ceiling.concurrency}: ${perSec.toFixed(1)} wf/s; ` +
        `the seed ran at ${(rate / perSec).toFixed(2)} of it`,
    );
  } finally {
    await mongo.close();
  }
}

/** How the command server's projection starts went (eager, started, existing, failed), from its /metrics. */
async function startOutcomes(): Promise<string> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${config.COMMAND_METRICS_PORT}/metrics`)).text();
    const counts = [...text.matchAll(/^feedflow_projection_starts_total\{outcome="(\w+)"\} (\d+)/gm)];
    return counts.map(([, outcome, n]) => `${outcome} ${n}`).join(', ') || 'none counted';
  } catch {
    return 'command metrics unreachable';
  }
}

async function seed(): Promise<string[]> {
  const ids = await inParallel(
    'members',
    Array.from({ length: MEMBERS }, (_, i) => async () => {
      const name =
        i === 0
          ? 'Satya Famous'
          : `${FIRST[(i - 1) % FIRST.length]} ${LAST[(i - 1) % LAST.length]}${i > FIRST.length ? ` ${i}` : ''}`;
      const res = await cmd.registerUser({
        email: demoEmail(i),
        displayName: name,
        headline: i === 0 ? 'Keynote speaker' : ['Engineer', 'Designer', 'Researcher', 'Founder'][i % 4],
        requestId: demoRequest(`user-${i}`),
      });
      return res.userId;
    }),
  );
  // Preferential attachment: low indexes are popular, so degrees follow a long tail.
  const rand = rng(42);
  const pick = (): number => Math.floor(MEMBERS * Math.pow(rand(), 2.2));
  const pairs = new Set<string>();
  for (let i = 1; i < MEMBERS; i++) {
    const k = 1 + Math.floor(6 * Math.pow(rand(), 3));
    for (let j = 0; j < k; j++) {
      const t = pick();
      if (t !== i && t !== 0) pairs.add(i < t ? `${i}-${t}` : `${t}-${i}`);
    }
  }
  await inParallel(
    'connections',
    [...pairs].map((p) => async () => {
      const [a, b] = p.split('-').map(Number);
      const req = await idempotent(
        cmd.requestConnection({ requesterId: ids[a], addresseeId: ids[b], requestId: demoRequest(`c-${p}`) }),
      );
      if (req)
        await idempotent(
          cmd.respondToConnection({
            addresseeId: ids[b],
            connectionId: req.connectionId,
            accept: true,
            requestId: demoRequest(`a-${p}`),
          }),
        );
    }),
  );
  // The high-follower author: most members follow member 0.
  await inParallel(
    'followers of the famous author',
    ids
      .slice(1)
      .filter((_, i) => i % 5 !== 0)
      .map(
        (id, i) => () =>
          idempotent(cmd.follow({ followerId: id, followeeId: ids[0], requestId: demoRequest(`f-${i}`) })),
      ),
  );
  log(`seeded ${MEMBERS} members, ${pairs.size} connections, one author followed by ${Math.ceil((MEMBERS - 1) * 0.8)}`);
  return ids;
}

const REASON: Record<number, string> = {
  [FeedReason.CONNECTION]: 'connection',
  [FeedReason.FOLLOW]: 'follow',
  [FeedReason.SECOND_DEGREE]: '2nd degree',
  [FeedReason.BACKFILL]: 'backfill',
  [FeedReason.POPULAR_AUTHOR]: 'popular author',
  [FeedReason.OWN_POST]: 'own post',
};

/**
 * Prints the viewer's first page once every token's event is projected for them (a token covers one event only,
 * so the story passes each write that should show), or marks the page as catching up.
 */
async function printFeed(viewerId: string, title: string, tokens: string[]): Promise<void> {
  let stale = false;
  for (const token of tokens.slice(0, -1)) {
    const wait = await feed.getFeed({ viewerId, pageSize: 1, minConsistencyToken: token });
    stale ||= wait.stale;
  }
  const res = await feed.getFeed({
    viewerId,
    pageSize: 10,
    view: FeedView.V3_PERSONALIZED,
    minConsistencyToken: tokens[tokens.length - 1],
  });
  stale ||= res.stale;
  console.log(`\n  ${title}${stale ? ' (projection still catching up)' : ''}`);
  console.log(
    `  ${'author'.padEnd(22)} ${'post'.padEnd(44)} ${'reason'.padEnd(15)} ${'age'.padStart(6)} ${'score'.padStart(6)}`,
  );
  for (const i of res.items) {
    const p = i.post!;
    const age = Math.round((Date.now() - Number(p.createdAt!.seconds) * 1000) / 1000);
    const snippet = p.content.length > 42 ? p.content.slice(0, 41) + '…' : p.content;
    console.log(
      `  ${p.author!.displayName.slice(0, 22).padEnd(22)} ${snippet.padEnd(44)} ${(REASON[i.reason] ?? '?').padEnd(15)} ${`${age}s`.padStart(6)} ${i.score.toFixed(2).padStart(6)}`,
    );
  }
  if (!res.items.length) console.log('  (empty)');
}

async function main(): Promise<void> {
  await waitForServers();
  log(`command service on :${config.COMMAND_PORT}, query service on :${config.QUERY_PORT}`);
  const temporal = await connectTemporal(config);
  try {
    const ping = await apps.waitFor(
      'the smoke workflow on the projection worker',
      temporal.workflow.execute(pingWorkflow, {
        taskQueue: config.TASK_QUEUE_PREFIX + TASK_QUEUES.projection,
        workflowId: `smoke/demo-${Date.now()}`,
        args: [{ message: `demo-${Date.now()}` }],
        // Abandoned by a failed demo, it ends on its own instead of waiting for a worker forever.
        workflowExecutionTimeout: START_DEADLINE_MS,
      }),
      { deadlineMs: START_DEADLINE_MS, on: ['worker-projection'] },
    );
    log(`smoke workflow ran on the projection worker: ${JSON.stringify(ping)}`);

    const seedStart = new Date();
    const ids = await seed();
    const seededMs = Date.now() - seedStart.getTime();
    await apps.waitFor('the seeded projections', drainProjections(), {
      deadlineMs: SEED_DRAIN_DEADLINE_MS,
      on: ['worker-projection', 'worker-priority', 'command'],
    });
    await reportDrain(seedStart, seededMs);
    const [famous, ada, grace, alan, edsger] = [ids[0], ids[1], ids[2], ids[3], ids[4]];
    const post = (authorId: string, content: string, visibility: Visibility, key: string) =>
      cmd.createPost({ authorId, content, visibility, postType: PostType.TEXT, requestId: demoRequest(`post-${key}`) });

    log('story: posts from Ada (public), Grace (connections only) and the famous author');
    const p1 = await post(
      ada,
      'The Analytical Engine weaves algebraic patterns like a loom weaves flowers.',
      Visibility.PUBLIC,
      'ada-1',
    );
    const p2 = await post(
      grace,
      'Found an actual moth in the relay today. First real bug!',
      Visibility.CONNECTIONS,
      'grace-1',
    );
    const p3 = await post(famous, 'Announcing our new open feed platform, live today.', Visibility.PUBLIC, 'famous-1');
    const oops = await post(ada, 'Draft: this one will be deleted in a moment', Visibility.PUBLIC, 'ada-oops');
    log('story: Ada and Grace connect (backfill both ways)');
    const conn = await idempotent(
      cmd.requestConnection({ requesterId: ada, addresseeId: grace, requestId: demoRequest('story-conn') }),
    );
    if (conn)
      await idempotent(
        cmd.respondToConnection({
          addresseeId: grace,
          connectionId: conn.connectionId,
          accept: true,
          requestId: demoRequest('story-accept'),
        }),
      );
    log('story: Edsger blocks Alan (purge both ways)');
    await idempotent(cmd.block({ blockerId: edsger, blockedId: alan, requestId: demoRequest('story-block') }));
    log('story: Grace edits her post; Ada deletes her draft');
    const edit = await idempotent(
      cmd.updatePost({
        authorId: grace,
        postId: p2.postId,
        content: 'Found an actual moth in the relay today. Taped it into the log book: first actual bug!',
        expectedVersion: 1,
        requestId: demoRequest('story-edit'),
      }),
    );
    const del = await idempotent(
      cmd.deletePost({ authorId: ada, postId: oops.postId, requestId: demoRequest('story-delete') }),
    );

    const tokens = (...receipts: Array<{ receipt?: { consistencyToken: string } } | undefined>) =>
      receipts.map((r) => r?.receipt?.consistencyToken).filter((t): t is string => !!t);
    await printFeed(ada, `Ada's feed (${ada})`, tokens(p1, p2, del));
    await printFeed(grace, `Grace's feed (${grace})`, tokens(p2, p1, p3, edit));

    log('operations: a consistency check of the last 10 minutes, with its repairs');
    const { report } = await apps.waitFor(
      'the consistency check',
      ops.runConsistencyCheck({ scope: CheckScope.RECENT, windowSeconds: 600 }),
      { deadlineMs: CHECK_DEADLINE_MS, on: ['operations', 'worker-projection'] },
    );
    const kinds = report!.counts.filter((c) => c.found).map((c) => `${c.kind} ${c.found}/${c.repaired}`);
    log(
      `check ${report!.workflowId}: ${report!.eventsChecked} events checked, ${report!.found} findings, ` +
        `${report!.repaired} repaired, ${report!.failed} failed${kinds.length ? ` (${kinds.join(', ')})` : ''}`,
    );
    await searchScene({ cmd, feed, apps, ada, grace, postId: p2.postId, log });

    console.log(`
  Temporal UI:      http://127.0.0.1:8233/namespaces/${config.TEMPORAL_NAMESPACE}/workflows
  Find a fan-out:   type the query   PostId = "${p3.postId}"   (the famous author's post; FeedOperation = "fanout")
  Call the APIs:    .tools/bin/grpcurl -plaintext 127.0.0.1:${config.QUERY_PORT} list
                    .tools/bin/grpcurl -plaintext -H 'authorization: Bearer dev-queries' -d '{"viewer_id":"${ada}","view":"FEED_VIEW_V3_PERSONALIZED"}' 127.0.0.1:${config.QUERY_PORT} feedflow.v1.FeedService/GetFeed
  Operations:       .tools/bin/grpcurl -plaintext -H 'authorization: Bearer dev-ops' -d '{"limit":3}' 127.0.0.1:${config.OPERATIONS_PORT} feedflow.v1.OperationsService/GetConsistencyReport
                    (ReplayFanout, RebuildFeed, RunConsistencyCheck, GetProjectionStatus, Pause/ResumeSchedules: see README)
  Metrics:          ${(
    [
      ['command', config.COMMAND_METRICS_PORT],
      ['query', config.QUERY_METRICS_PORT],
      ['operations', config.OPERATIONS_METRICS_PORT],
      ['projection worker', config.PROJECTION_WORKER_METRICS_PORT],
      ['priority worker', config.PRIORITY_WORKER_METRICS_PORT],
      ['ranking worker', config.RANKING_WORKER_METRICS_PORT],
      ['search worker', config.SEARCH_WORKER_METRICS_PORT],
    ] as const
  )
    .map(([name, port]) => `http://127.0.0.1:${port}/metrics`.padEnd(32) + ` (${name})`)
    .join('\n                    ')}
`);
  } finally {
    await temporal.connection.close();
  }
}

// An app that exits at any point of the story ends it at once, naming the app.
Promise.race([main(), apps.exited]).then(
  () => apps.stop(),
  (err: unknown) => {
    console.error(`[demo] failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  },
);
