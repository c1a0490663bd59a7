import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { WorkflowBundle } from '@temporalio/worker';

/**
 * The prebuilt workflow bundle, as Temporal's production sample ships it: bundled once (scripts/build-bundle.ts,
 * run by bootstrap, the Dockerfile and the mocha setup), loaded by every worker. Beside it, a manifest records
 * what it was built from: the hash of every file webpack read (the workflows and all they import, SDK files
 * included), the paths it probed and did not find, and the bundler's version. A worker only loads a bundle whose
 * manifest still matches the tree, so it never runs workflow code older than the sources it ships with.
 */

const ROOT = join(__dirname, '..');
export const BUNDLE_FILE = join('.build', 'workflow-bundle.js');
const MANIFEST_FILE = join('.build', 'workflow-bundle.json');

export interface BundleManifest {
  /** The @temporalio/worker version that bundled it: the bundler's own choices are part of the code. */
  sdk: string;
  /** sha256 of the bundle file, so a truncated or swapped bundle is caught too. */
  bundle: string;
  /** Every file the bundle was built from, relative to the root (node_modules files as `node_modules/...`). */
  files: Record<string, string>;
  /** Paths webpack probed and did not find: one appearing could change what an import resolves to. */
  absent: string[];
}

/** What a worker passes as `workflowBundle`, with the bundle's hash for its start line. */
export type PrebuiltBundle = WorkflowBundle & { sha256: string };

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

function sdkVersion(): string {
  const pkg = readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8');
  return (JSON.parse(pkg) as { version: string }).version;
}

/** A path as the manifest records it: stable across clones, and across a node_modules that is a symlink. */
function recordedPath(root: string, file: string): string {
  const at = file.split(sep).indexOf('node_modules');
  if (at >= 0) return file.split(sep).slice(at).join('/');
  const rel = relative(root, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel.split(sep).join('/');
}

async function hashFile(path: string): Promise<string | undefined> {
  return readFile(path).then(sha256, () => undefined);
}

/** Why the bundle under `root` may not be loaded, or undefined when it matches the tree. */
export async function bundleStaleness(root = ROOT): Promise<string | undefined> {
  const manifest = await readFile(join(root, MANIFEST_FILE), 'utf8').then(
    (text) => JSON.parse(text) as BundleManifest,
    () => undefined,
  );
  if (!manifest) return 'it was never built';
  if (manifest.sdk !== sdkVersion()) return `it was built by @temporalio/worker ${manifest.sdk}, not ${sdkVersion()}`;
  if ((await hashFile(join(root, BUNDLE_FILE))) !== manifest.bundle) return `${BUNDLE_FILE} is not the file built`;
  const at = (p: string) => (isAbsolute(p) ? p : join(root, p));
  const files = Object.keys(manifest.files);
  const hashes = await Promise.all(files.map((f) => hashFile(at(f))));
  const changed = files.findIndex((f, i) => hashes[i] !== manifest.files[f]);
  if (changed >= 0) return `${files[changed]} ${hashes[changed] ? 'changed' : 'is gone'} since it was built`;
  const appeared = manifest.absent.find((p) => existsSync(at(p)));
  if (appeared) return `${appeared} appeared since it was built (an import may resolve to it)`;
  return undefined;
}

/**
 * The prebuilt bundle, checked against the tree; throws, naming what changed and the command to run, when it is
 * missing or stale. Workers never bundle themselves: the image's user cannot write the bundle, replicas would each
 * spend seconds of CPU on it, and a worker must run the code that was built and tested.
 */
export async function loadWorkflowBundle(root = ROOT): Promise<PrebuiltBundle> {
  const reason = await bundleStaleness(root);
  if (reason) {
    throw new Error(
      `the workflow bundle ${join(root, BUNDLE_FILE)} is stale: ${reason}; run \`npm run build:workflows\``,
    );
  }
  const code = await readFile(join(root, BUNDLE_FILE), 'utf8');
  return { code, sha256: sha256(code) };
}

/** The manifest for a bundle built from these files (absolute paths, as webpack reports them). */
export async function describeBundle(
  root: string,
  code: string,
  read: Iterable<string>,
  probed: Iterable<string>,
): Promise<BundleManifest> {
  // This file chooses the bundler's options, so it is one of the sources.
  const paths = [...new Set([...read, __filename])];
  const hashes = await Promise.all(paths.map(hashFile));
  // Folders webpack listed, and the entry point it generates in memory, have no content to hash.
  const hashed = paths.flatMap((p, i) => (hashes[i] ? [[recordedPath(root, p), hashes[i]] as const] : []));
  const files = Object.fromEntries(hashed.sort(([a], [b]) => (a < b ? -1 : 1)));
  // Only probes beside real folders of the project: the bundler's in-memory file system adds impossible paths.
  const absent = [...new Set(probed)]
    .filter((p) => !p.split(sep).includes('node_modules') && !relative(root, p).startsWith('..'))
    .filter((p) => existsSync(dirname(p)) && !existsSync(p))
    .map((p) => recordedPath(root, p))
    .sort();
  return { sdk: sdkVersion(), bundle: sha256(code), files, absent };
}

/** Writes a file so that a reader sees the old content or the new, never half of it. */
async function writeAtomically(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function writeBundle(root: string, code: string, manifest: BundleManifest): Promise<void> {
  await mkdir(join(root, dirname(BUNDLE_FILE)), { recursive: true });
  // The bundle first: a reader of the new manifest then finds the bundle it describes.
  await writeAtomically(join(root, BUNDLE_FILE), code);
  await writeAtomically(join(root, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + '\n');
}

/**
 * Bundles `workflows/` under `root` into the prebuilt bundle, unless the one there is up to date. Returns why it
 * rebuilt, or undefined when it kept the bundle.
 */
export async function buildWorkflowBundle(root = ROOT): Promise<string | undefined> {
  const reason = await bundleStaleness(root);
  if (!reason) return undefined;
  // Loaded only to build: checking an up-to-date bundle (every bootstrap, every mocha run) stays cheap.
  const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
  const read = new Set<string>();
  const probed = new Set<string>();
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(root, 'workflows'),
    // webpack's report is an info line of the size of a page.
    logger: new DefaultLogger('WARN'),
    webpackConfigHook: (config) => ({
      ...config,
      plugins: [
        ...(config.plugins ?? []),
        {
          apply(compiler) {
            compiler.hooks.done.tap('feedflow-bundle-sources', ({ compilation }) => {
              for (const f of compilation.fileDependencies) read.add(f);
              for (const f of compilation.missingDependencies) probed.add(f);
            });
          },
        },
      ],
    }),
  });
  await writeBundle(root, code, await describeBundle(root, code, read, probed));
  return reason;
}
