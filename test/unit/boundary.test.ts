import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// The unit layer runs without the stack: nothing it loads, directly or through our own modules, may open a client.
const FORBIDDEN = [
  /^mongodb$/,
  /^neo4j-driver$/,
  /^pg$/,
  /^onnxruntime-node$/,
  /^@temporalio\/(client|worker|testing|activity)$/,
  /^@grpc\/grpc-js$/,
  /^@connectrpc\/connect-node$/,
];
const ROOT = resolve(__dirname, '../..');
// Value imports only: `import type` and `export type` are erased and load nothing.
const IMPORT = /^(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

function resolveLocal(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  return [base, `${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(p) && p.endsWith('.ts'));
}

/** Every package a file loads, with the chain of our own files that leads to it. */
function packagesLoadedBy(entry: string): Map<string, string> {
  const seen = new Set<string>();
  const found = new Map<string, string>();
  const walk = (file: string, chain: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (!spec.startsWith('.')) {
        if (!found.has(spec)) found.set(spec, chain);
        continue;
      }
      const next = resolveLocal(file, spec);
      if (next) walk(next, `${chain} → ${relative(ROOT, next)}`);
    }
  };
  walk(entry, relative(ROOT, entry));
  return found;
}

describe('the unit layer', () => {
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(__dirname, f));

  it('loads no server client and not the stack environment', () => {
    assert.ok(files.length > 1);
    for (const file of files) {
      for (const [pkg, chain] of packagesLoadedBy(file)) {
        assert.ok(!FORBIDDEN.some((re) => re.test(pkg)), `${chain} loads ${pkg}`);
      }
      const source = readFileSync(file, 'utf8');
      assert.ok(!/support\/env/.test(source.replace(/\/\/.*$/gm, '')), `${relative(ROOT, file)} imports the stack env`);
    }
  });

  it('notices a client loaded through our own modules', () => {
    const found = [...packagesLoadedBy(join(ROOT, 'services/query/server.ts')).keys()];
    assert.ok(found.includes('mongodb') && found.includes('@temporalio/client'), found.join(', '));
  });
});
