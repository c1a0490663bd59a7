import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUNDLE_FILE,
  buildWorkflowBundle,
  bundleStaleness,
  describeBundle,
  loadWorkflowBundle,
  writeBundle,
} from '../../workers/bundle';

/**
 * The prebuilt bundle's staleness check, on a made-up tree: a bundle is loaded only while every file it was built
 * from is unchanged and no path its imports probed has appeared.
 */
describe('the prebuilt workflow bundle', () => {
  let dir: string;
  let root: string;
  const at = (p: string) => join(root, p);
  const write = (p: string, text: string) => {
    mkdirSync(join(at(p), '..'), { recursive: true });
    writeFileSync(at(p), text);
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'feedflow-bundle-'));
    root = join(dir, 'app');
    write('workflows/index.ts', "export * from './ping';\n");
    write('workflows/ping.ts', 'export async function pingWorkflow() {}\n');
    // node_modules elsewhere and linked in, as in a git worktree or the image test: recorded by package path.
    mkdirSync(join(dir, 'shared/node_modules/pkg'), { recursive: true });
    writeFileSync(join(dir, 'shared/node_modules/pkg/index.js'), 'module.exports = 1;\n');
    symlinkSync(join(dir, 'shared/node_modules'), at('node_modules'));
    const read = [at('workflows/index.ts'), at('workflows/ping.ts'), join(dir, 'shared/node_modules/pkg/index.js')];
    const probed = [at('workflows/ping'), at('workflows/package.json'), at('nowhere/deep/file.ts')];
    const code = 'bundled code';
    await writeBundle(root, code, await describeBundle(root, code, read, probed));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is loaded while its sources are unchanged, and not rebuilt', async () => {
    assert.equal(await bundleStaleness(root), undefined);
    assert.equal((await loadWorkflowBundle(root)).code, 'bundled code');
    assert.equal(await buildWorkflowBundle(root), undefined);
  });

  it('records what it was built from, node_modules files by package path', () => {
    const manifest = JSON.parse(readFileSync(at('.build/workflow-bundle.json'), 'utf8')) as {
      files: Record<string, string>;
      absent: string[];
    };
    // workers/bundle.ts chooses the bundler's options; outside this made-up root, it is recorded by absolute path.
    assert.deepEqual(Object.keys(manifest.files), [
      require.resolve('../../workers/bundle'),
      'node_modules/pkg/index.js',
      'workflows/index.ts',
      'workflows/ping.ts',
    ]);
    // A probe in a folder that does not exist is the bundler's in-memory file system, not the tree.
    assert.deepEqual(manifest.absent, ['workflows/package.json', 'workflows/ping']);
  });

  it('is stale, naming the file, when a workflow source changes', async () => {
    write('workflows/ping.ts', 'export async function pingWorkflow() { return 1; }\n');
    assert.equal(await bundleStaleness(root), 'workflows/ping.ts changed since it was built');
  });

  it('is stale when a dependency in node_modules changes or a source is gone', async () => {
    writeFileSync(join(dir, 'shared/node_modules/pkg/index.js'), 'module.exports = 2;\n');
    assert.equal(await bundleStaleness(root), 'node_modules/pkg/index.js changed since it was built');
    unlinkSync(at('workflows/index.ts'));
    assert.equal(await bundleStaleness(root), 'node_modules/pkg/index.js changed since it was built');
    writeFileSync(join(dir, 'shared/node_modules/pkg/index.js'), 'module.exports = 1;\n');
    assert.equal(await bundleStaleness(root), 'workflows/index.ts is gone since it was built');
  });

  it('is stale when a file appears where an import was resolved past it', async () => {
    write('workflows/package.json', '{ "type": "module" }\n');
    assert.match((await bundleStaleness(root))!, /^workflows\/package\.json appeared since it was built/);
  });

  it('is stale when the bundle file is not the one built, or was never built', async () => {
    writeFileSync(at(BUNDLE_FILE), 'other code');
    assert.equal(await bundleStaleness(root), `${BUNDLE_FILE} is not the file built`);
    rmSync(at('.build'), { recursive: true });
    assert.equal(await bundleStaleness(root), 'it was never built');
  });

  it('is stale when another SDK version built it', async () => {
    const path = at('.build/workflow-bundle.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/"sdk": "[^"]+"/, '"sdk": "0.0.1"'));
    assert.match((await bundleStaleness(root))!, /^it was built by @temporalio\/worker 0\.0\.1, not /);
  });

  it('refuses to load a stale bundle, saying what changed and what to run', async () => {
    write('workflows/ping.ts', '// edited\n');
    await assert.rejects(loadWorkflowBundle(root), (err: Error) => {
      assert.match(err.message, /workflows\/ping\.ts changed since it was built; run `npm run build:workflows`/);
      return true;
    });
  });
});
