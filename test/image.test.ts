import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { loadWorkflowBundle } from '../workers/bundle';

/**
 * The production image without a Docker engine: its file set is assembled the way the Dockerfile's final stage
 * copies it (honouring .dockerignore), its RUN steps run in it, and every process entry point is loaded from that
 * set alone. The only thing taken from outside is node_modules, which the image builds in its own stage.
 */

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');

interface Copy {
  sources: string[];
  dest: string;
}

/** The COPY instructions of the final stage that take files from the build context, and its RUN commands. */
function contextCopies(dockerfile: string): { workdir: string; copies: Copy[]; runs: string[]; cmd: string[] } {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0);
  const last = lines.slice(stages[stages.length - 1]);
  let workdir = '/';
  let cmd: string[] = [];
  const copies: Copy[] = [];
  const runs: string[] = [];
  for (const line of last) {
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    switch (instruction.toUpperCase()) {
      case 'WORKDIR':
        workdir = posix.resolve(workdir, args);
        break;
      case 'CMD':
        cmd = JSON.parse(args) as string[];
        break;
      case 'RUN':
        if (args.startsWith('[')) throw new Error(`exec-form RUN is not modelled here: ${line}`);
        runs.push(args);
        break;
      case 'ADD':
        throw new Error(`ADD is not modelled here; use COPY: ${line}`);
      case 'COPY': {
        if (runs.length) throw new Error(`a COPY after a RUN is not modelled here: ${line}`);
        const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
        if (words.some((w) => w.startsWith('--from'))) break;
        const paths = words.filter((w) => !w.startsWith('--'));
        copies.push({ sources: paths.slice(0, -1), dest: posix.resolve(workdir, paths[paths.length - 1]) });
        break;
      }
    }
  }
  return { workdir, copies, runs, cmd };
}

/** .dockerignore as a predicate over context-relative paths (no `!` exceptions: none are used). */
function ignoredBy(dockerignore: string): (path: string) => boolean {
  const patterns = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (patterns.some((p) => p.startsWith('!'))) throw new Error('.dockerignore exceptions (!) are not modelled here');
  const regexes = patterns.map((p) => {
    const body = posix
      .normalize(p.replace(/^\/+/, ''))
      .replace(/\/+$/, '')
      .split(/(\*\*\/?|\*|\?)/)
      .map((part) =>
        part === '**/' || part === '**'
          ? '(?:.*/)?'
          : part === '*'
            ? '[^/]*'
            : part === '?'
              ? '[^/]'
              : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    return new RegExp(`^${body}$`);
  });
  // A path is out when it or any folder above it matches.
  return (path) => {
    const parts = path.split('/');
    return parts.some((_, i) => regexes.some((r) => r.test(parts.slice(0, i + 1).join('/'))));
  };
}

function copyInto(src: string, dest: string, ignored: (p: string) => boolean): void {
  const rel = relative(ROOT, src).split('\\').join('/');
  if (ignored(rel)) return;
  if (statSync(src).isDirectory()) {
    for (const entry of readdirSync(src)) copyInto(join(src, entry), join(dest, entry), ignored);
  } else {
    cpSync(src, dest);
  }
}

/** Builds the image's /app in a temp dir; returns it and the Dockerfile's default command. */
async function assembleImage(): Promise<{ app: string; cmd: string[] }> {
  const { workdir, copies, runs, cmd } = contextCopies(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const ignored = ignoredBy(
    existsSync(join(ROOT, '.dockerignore')) ? readFileSync(join(ROOT, '.dockerignore'), 'utf8') : '',
  );
  const image = mkdtempSync(join(tmpdir(), 'feedflow-image-'));
  const at = (p: string) => join(image, p);
  for (const { sources, dest } of copies) {
    const intoFolder = dest.endsWith('/') || sources.length > 1;
    for (const source of sources) {
      const src = join(ROOT, source);
      assert.ok(existsSync(src), `Dockerfile copies ${source}, which does not exist`);
      // A folder's contents land in the destination; a file lands in it (or becomes it).
      const target = statSync(src).isDirectory() || !intoFolder ? dest : posix.join(dest, basename(source));
      copyInto(src, at(target), ignored);
    }
  }
  // The deps stage's `npm ci --omit=dev`; the shared install also holds dev dependencies.
  symlinkSync(join(ROOT, 'node_modules'), at(posix.join(workdir, 'node_modules')));
  // The RUN steps, which all follow the copies, in the working directory as Docker runs them.
  for (const step of runs) await run('sh', ['-c', step], { cwd: at(workdir) });
  return { app: at(workdir), cmd };
}

/** Every process the compose file runs from the image, plus the image's default and every service's server. */
function entryPoints(cmd: string[]): string[] {
  const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const fromCompose = [...compose.matchAll(/command:\s*\[\s*'([^']+\.ts)'\s*\]/g)].map((m) => m[1]);
  const servers = readdirSync(join(ROOT, 'services'))
    .map((s) => `services/${s}/server.ts`)
    .filter((f) => existsSync(join(ROOT, f)));
  assert.ok(fromCompose.length >= 6, `expected the compose file's feedflow commands, found ${fromCompose.join(', ')}`);
  return [...new Set([...cmd, ...fromCompose, ...servers])].sort();
}

describe('the production image', function () {
  this.timeout(180_000);
  let image: { app: string; cmd: string[] };
  before(async () => (image = await assembleImage()));
  after(() => image && rmSync(resolve(image.app, '..'), { recursive: true, force: true }));

  it('loads every process entry point from the files the Dockerfile copies', async () => {
    const entries = entryPoints(image.cmd);
    assert.ok(entries.includes('workers/projection.ts') && entries.includes('services/query/server.ts'));
    const results = await Promise.all(
      entries.map(async (entry) => {
        assert.ok(existsSync(join(image.app, entry)), `${entry} is not in the image`);
        // An empty TEMPORAL_ADDRESS fails config validation, the first thing main() does once every module has
        // loaded: reaching that error proves the whole import graph resolved, without connecting anywhere.
        const out = await run(process.execPath, ['--require', 'tsx/cjs', entry], {
          cwd: image.app,
          env: { ...process.env, NODE_ENV: 'production', TEMPORAL_ADDRESS: '' },
          timeout: 120_000,
        }).then(
          (r) => ({ ok: true, text: r.stdout + r.stderr }),
          (e: { stdout?: string; stderr?: string; message: string }) => ({
            ok: false,
            text: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`,
          }),
        );
        return { entry, ...out };
      }),
    );
    for (const r of results) {
      // tsx prints its minified source around an error; the short lines are the ones a reader needs.
      const said = `${r.entry}:\n${r.text
        .split('\n')
        .filter((l) => l.length < 300)
        .join('\n')}`;
      assert.doesNotMatch(r.text, /Cannot find module|MODULE_NOT_FOUND|ENOENT/, said);
      assert.equal(r.ok, false, `${r.entry} should have stopped at config validation`);
      assert.match(r.text, /invalid configuration[\s\S]*TEMPORAL_ADDRESS/, said);
    }
  });

  it('builds the workflow bundle its workers load, up to date with its workflow sources', async () => {
    const bundle = await loadWorkflowBundle(image.app);
    assert.ok(bundle.code.includes('fanoutPostWorkflow'));
  });

  it('loads the engagement model and its feature schema from the image', async () => {
    const script =
      "const { loadConfig } = require('./lib/config');" +
      "const m = require('./stores/model');" +
      'm.loadEngagementModel(loadConfig({}).RANKING_MODEL_PATH)' +
      '.then((model) => { console.log(model.info.modelVersion); return m.closeEngagementModels(); })' +
      '.catch((e) => { console.error(e); process.exit(1); });';
    const { stdout } = await run(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: image.app });
    assert.match(stdout, /\S/);
  });
});
