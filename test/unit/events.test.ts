import { strict as assert } from 'node:assert';
import {
  type AggregateType,
  consistencyToken,
  decodeConsistencyToken,
  EVENT_TYPES,
  EVENT_VERBS,
  type EventType,
  eventIdFor,
  eventIdOfWorkflowId,
  eventWorkflowId,
  isEventId,
} from '../../domain/events';

// Ids shaped like the command side's: a prefix letter and hex (hashId/randomId), relationships joined by dashes.
const AGGREGATE_OF: Record<EventType, [AggregateType, string]> = {
  UserRegistered: ['user', 'u3f9a0c1d2e4b5a6c7d8e'],
  ProfileUpdated: ['user', 'u3f9a0c1d2e4b5a6c7d8e'],
  PostCreated: ['post', 'p0a1b2c3d4e5f60718293'],
  PostUpdated: ['post', 'p0a1b2c3d4e5f60718293'],
  PostDeleted: ['post', 'p0a1b2c3d4e5f60718293'],
  ConnectionRequested: ['relationship', 'c-u01-u02'],
  ConnectionAccepted: ['relationship', 'c-u01-u02'],
  ConnectionDeclined: ['relationship', 'c-u01-u02'],
  ConnectionRemoved: ['relationship', 'c-u01-u02'],
  Followed: ['relationship', 'f-u01-u02'],
  Unfollowed: ['relationship', 'f-u01-u02'],
  Blocked: ['relationship', 'b-u01-u02'],
  Unblocked: ['relationship', 'b-u01-u02'],
  EngagementRecorded: ['engagement', 'e9c8b7a6f5e4d3c2b1a09'],
};

describe('event ids and consistency tokens', () => {
  it('builds ids as aggregate/id/v{version}/verb', () => {
    assert.equal(eventIdFor('post', 'p1', 3, 'PostCreated'), 'post/p1/v3/created');
    assert.equal(eventIdFor('relationship', 'c-u1-u2', 2, 'ConnectionAccepted'), 'relationship/c-u1-u2/v2/accepted');
  });

  it('gives every event type an id of the shape its token carries', () => {
    for (const type of EVENT_TYPES) {
      const [aggregate, id] = AGGREGATE_OF[type];
      const eventId = eventIdFor(aggregate, id, 7, type);
      assert.match(eventId, /^[a-z]+\/[A-Za-z0-9-]+\/v\d+\/[a-z]+$/, type);
      assert.ok(eventId.endsWith(`/v7/${EVENT_VERBS[type]}`), type);
      assert.equal(decodeConsistencyToken(consistencyToken(eventId)), eventId, type);
    }
  });

  it('decodes a token for every id requireId admits, underscores included', () => {
    for (const eventId of ['user/u_1/v1/registered', 'post/p_a_b/v2/created', 'relationship/f-u_1-u_2/v3/followed']) {
      assert.equal(decodeConsistencyToken(consistencyToken(eventId)), eventId, eventId);
    }
  });

  it('names each event type by its own verb, so two types never share a workflow id', () => {
    assert.equal(new Set(EVENT_TYPES.map((t) => EVENT_VERBS[t])).size, EVENT_TYPES.length);
  });

  it('issues versioned tokens that do not show the event id in clear', () => {
    const token = consistencyToken('post/p1/v1/created');
    assert.ok(token.startsWith('ct1.'));
    assert.ok(!token.includes('post/p1'));
    assert.match(token, /^ct1\.[A-Za-z0-9_-]+$/);
  });

  it('rejects tokens it did not issue', () => {
    const body = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
    for (const token of [
      '',
      'post/p1/v1/created',
      body('post/p1/v1/created'),
      `ct2.${body('post/p1/v1/created')}`,
      'ct1.',
      'ct1.!!!!',
      `ct1.${body('not an event id')}`,
      `ct1.${body('post/p1/1/created')}`,
      `ct1.${body('Post/p1/v1/created')}`,
      `ct1.${body('post/p1/v1/created\n')}`,
      `ct1.${body('post/p1/v1/created/extra')}`,
      `ct1.${body('post/../v1/created')}`,
    ]) {
      assert.equal(decodeConsistencyToken(token), undefined, JSON.stringify(token));
    }
  });

  it('names the workflows of an event by deployment prefix, event id and event time, and reads the event id back', () => {
    const id = eventIdFor('user', 'u_1', 1, 'UserRegistered');
    const at = new Date(1_780_000_000_000);
    const wf = eventWorkflowId('feedflow_demo-', id, at, 'projection');
    assert.equal(wf, `feedflow_demo-${id}:${at.getTime().toString(36)}`);
    assert.equal(eventWorkflowId('p-', id, at, 'search'), `p-search/${id}:${at.getTime().toString(36)}`);
    // The same event of a database made again later, or of another prefix, is another workflow.
    assert.notEqual(eventWorkflowId('feedflow_demo-', id, new Date(at.getTime() + 1), 'projection'), wf);
    assert.notEqual(eventWorkflowId('other-', id, at, 'projection'), wf);
    assert.equal(eventIdOfWorkflowId('feedflow_demo-', wf), id);
    assert.equal(eventIdOfWorkflowId('', id), id, 'an id from before the prefix is the event id');
    assert.equal(eventIdOfWorkflowId('feedflow_demo-', 'feedflow_demo-replay/post/p1/v1'), undefined);
    assert.equal(isEventId(id), true);
    assert.equal(isEventId(wf), false);
  });
});
