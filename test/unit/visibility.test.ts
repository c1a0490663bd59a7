import { strict as assert } from 'node:assert';
import { audienceScopeOf, mayRead, NO_RELATION, pushedVisibilities, VISIBILITIES } from '../../domain/visibility';

describe('the visibility rule', () => {
  describe('mayRead', () => {
    it('lets an author read every own post, whatever the relation says', () => {
      for (const visibility of VISIBILITIES) {
        for (const blocked of [false, true]) {
          for (const connected of [false, true]) {
            assert.equal(mayRead('ann', { authorId: 'ann', visibility }, { blocked, connected }), true);
          }
        }
      }
    });

    it('answers for another member by visibility, block and connection', () => {
      // [visibility, blocked, connected, may read]
      const table: Array<[string, boolean, boolean, boolean]> = [
        ['public', false, false, true],
        ['public', false, true, true],
        ['public', true, false, false],
        ['public', true, true, false],
        ['connections', false, false, false],
        ['connections', false, true, true],
        ['connections', true, false, false],
        ['connections', true, true, false],
        ['private', false, false, false],
        ['private', false, true, false],
        ['private', true, false, false],
        ['private', true, true, false],
      ];
      for (const [visibility, blocked, connected, want] of table) {
        const got = mayRead('bob', { authorId: 'ann', visibility }, { blocked, connected });
        assert.equal(got, want, `${visibility} blocked=${blocked} connected=${connected}`);
      }
    });
  });

  it('refuses another member a post of a visibility it does not know, even when connected', () => {
    for (const visibility of ['friends', '', 'PUBLIC', 'unspecified']) {
      for (const connected of [false, true]) {
        assert.equal(mayRead('bob', { authorId: 'ann', visibility }, { blocked: false, connected }), false, visibility);
      }
    }
  });

  describe('pushedVisibilities', () => {
    it('pushes public posts to followers and connection posts to connections, nothing across a block', () => {
      // [blocked, connected, follows, pushed]
      const table: Array<[boolean, boolean, boolean, string[]]> = [
        [false, false, false, []],
        [false, false, true, ['public']],
        [false, true, false, ['public', 'connections']],
        [false, true, true, ['public', 'connections']],
        [true, false, false, []],
        [true, false, true, []],
        [true, true, false, []],
        [true, true, true, []],
      ];
      for (const [blocked, connected, follows, want] of table) {
        assert.deepEqual(
          pushedVisibilities({ blocked, connected, follows }),
          want,
          `blocked=${blocked} connected=${connected} follows=${follows}`,
        );
      }
    });

    it('never pushes what mayRead would refuse', () => {
      for (const blocked of [false, true]) {
        for (const connected of [false, true]) {
          for (const follows of [false, true]) {
            for (const visibility of pushedVisibilities({ blocked, connected, follows })) {
              assert.ok(mayRead('bob', { authorId: 'ann', visibility }, { blocked, connected }));
            }
          }
        }
      }
    });
  });

  describe('audienceScopeOf', () => {
    it('pushes public posts to followers unless the author is read at pull time', () => {
      assert.equal(audienceScopeOf('public', false), 'connections+followers');
      assert.equal(audienceScopeOf('public', true), 'connections');
    });

    it('pushes connection posts to connections only and private posts to nobody', () => {
      for (const pull of [false, true]) {
        assert.equal(audienceScopeOf('connections', pull), 'connections');
        assert.equal(audienceScopeOf('private', pull), 'none');
      }
    });
  });

  it('pushes nothing to a member with no relation to the author', () => {
    assert.deepEqual(NO_RELATION, { blocked: false, connected: false, follows: false });
    assert.deepEqual(pushedVisibilities(NO_RELATION), []);
  });
});
