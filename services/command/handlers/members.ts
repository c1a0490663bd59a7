import { invalid } from '../../../domain/errors';
import { requireId } from '../../../domain/ids';
import { type CommandHandler, type CommandResult, VersionConflict } from '../commit';
import { isHttpUrl } from '../moderation';
import { type CommandMeta, commitFirst, type HandlerDeps, hashId, loadUser, staleVersion } from './context';

export interface RegisterUserCommand {
  email: string;
  displayName: string;
  headline: string;
  imageUrl: string;
}

export interface UpdateProfileCommand {
  userId: string;
  displayName?: string;
  headline?: string;
  imageUrl?: string;
  expectedVersion: number;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,63}$/;

function checkProfile(p: { displayName?: string; headline?: string; imageUrl?: string }): void {
  if (p.displayName !== undefined && !p.displayName.trim()) throw invalid('display_name must not be empty');
  if (p.displayName !== undefined && p.displayName.length > 100) throw invalid('display_name is over 100 characters');
  if (p.headline !== undefined && p.headline.length > 220) throw invalid('headline is over 220 characters');
  if (p.imageUrl && !isHttpUrl(p.imageUrl)) throw invalid('profile_image_url must be an http(s) URL');
}

export interface MemberHandlers {
  /** Registers a member. The user id derives from the email, so the event store enforces uniqueness. */
  registerUser: CommandHandler<RegisterUserCommand>;
  /** Changes the given profile fields if the profile is still at the expected version. */
  updateProfile: CommandHandler<UpdateProfileCommand>;
}

export function createMemberHandlers({ wm, committer, limiter }: HandlerDeps): MemberHandlers {
  return {
    async registerUser(meta: CommandMeta, cmd: RegisterUserCommand): Promise<CommandResult> {
      const email = cmd.email.trim().toLowerCase();
      if (!EMAIL.test(email)) throw invalid('email is not a valid address', 'INVALID_EMAIL');
      checkProfile({ displayName: cmd.displayName, headline: cmd.headline, imageUrl: cmd.imageUrl });
      const userId = hashId('u', email);
      return commitFirst(
        committer,
        meta,
        {
          type: 'UserRegistered',
          aggregateType: 'user',
          aggregateId: userId,
          actorId: userId,
          payload: { email, displayName: cmd.displayName.trim(), headline: cmd.headline, imageUrl: cmd.imageUrl },
          ids: { userId },
        },
        { message: `email "${email}" is already registered`, reason: 'EMAIL_TAKEN' },
      );
    },

    async updateProfile(meta: CommandMeta, cmd: UpdateProfileCommand): Promise<CommandResult> {
      requireId(cmd.userId, 'user_id');
      if (!cmd.expectedVersion) throw invalid('expected_version is required', 'MISSING_FIELD');
      const changes = { displayName: cmd.displayName, headline: cmd.headline, imageUrl: cmd.imageUrl };
      if (Object.values(changes).every((v) => v === undefined)) throw invalid('no profile field to change');
      checkProfile(changes);
      await limiter.consume(cmd.userId, 'default');
      const user = await loadUser(wm, cmd.userId);
      if (user.version !== cmd.expectedVersion) throw staleVersion('profile', cmd.expectedVersion, user.version);
      const payload = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      try {
        return await committer.commit(meta, {
          type: 'ProfileUpdated',
          aggregateType: 'user',
          aggregateId: user._id,
          version: user.version + 1,
          actorId: user._id,
          payload,
        });
      } catch (err) {
        if (!(err instanceof VersionConflict)) throw err;
        const current = Math.max((await loadUser(wm, cmd.userId)).version, err.current?.aggregateVersion ?? 0);
        throw staleVersion('profile', cmd.expectedVersion, current);
      }
    },
  };
}
