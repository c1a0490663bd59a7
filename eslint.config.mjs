// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';
import importCycles from './lint/import-cycles.mjs';

// Workflow code runs in Temporal's deterministic sandbox: no I/O clients, no Node built-ins, no service code.
const workflowForbidden = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'mongodb',
  'neo4j-driver',
  'onnxruntime-node',
  '@temporalio/worker',
  '@temporalio/client',
  '@temporalio/activity',
  'pino',
];

// Every exported factory: its object is a room's boundary (activities proxied by workflows, gRPC services, stores,
// readers), so its type is written out where the factory is, not inferred from the body.
const exportedFactory = '/^create[A-Z]/';
const factoryReturnType =
  'Give an exported factory an explicit return type: a named interface of what it returns, or an existing type (ServiceImpl, a store type).';

// A workflow's name as a string; 'startWorkflow' is the SDK's schedule action kind, not one of ours.
const workflowName = '/^(?!startWorkflow$)[a-z][A-Za-z]*Workflow$/';
const namedByRegistry = 'Name workflows through pipeline/registry.ts (WORKFLOW_TYPES) or pass the workflow function.';

const pipelineOnly = 'pipeline/ imports only domain/ and itself.';

// The SDK's own hygiene: its packages' lib/ folders are internals that change without notice.
const sdkInternals = {
  group: ['@temporalio/*/lib/*', '@temporalio/*/lib/**'],
  message: "Temporal's lib/ folders are internal; use the package's public exports.",
};

export default tseslint.config(
  { ignores: ['gen/**', 'node_modules/**', '.tools/**', '.stack/**', 'graph/target/**', 'ranking/.venv/**'] },
  // The prebuilt workflow bundle (npm run build:workflows): webpack output.
  { ignores: ['.build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX, feedflow: importCycles },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.json'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // import-x/no-cycle skips type-only imports; feedflow/no-import-cycle counts them too (lint/import-cycles.mjs).
      'import-x/no-cycle': 'error',
      'feedflow/no-import-cycle': 'error',
      'no-restricted-imports': ['error', { patterns: [sdkInternals] }],
      'import-x/order': [
        'error',
        {
          groups: ['builtin', 'external', ['internal', 'parent', 'sibling', 'index']],
          'newlines-between': 'never',
          alphabetize: { order: 'asc', caseInsensitive: true },
        },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The ground floor: plain types and rules every room may import. It depends on nothing of ours and does no I/O.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./)',
              message: 'domain/ is pure and imports nothing outside domain/ (no packages, no other folder).',
            },
          ],
        },
      ],
    },
  },
  {
    // FerretDB 1.24 on PostgreSQL holds a pooled connection per statement of one update command until it ends: a
    // bulk write of more statements than its pool (50) deadlocks the whole server. Write one document at a time.
    files: ['activities/**/*.ts', 'services/**/*.ts', 'stores/**/*.ts', 'workers/**/*.ts', 'lib/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          property: 'bulkWrite',
          message: 'FerretDB deadlocks on update commands of many statements; see stores/pushdown.ts.',
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: workflowForbidden.map((name) => ({
            name,
            message: 'Workflows run in a deterministic sandbox; do I/O in activities.',
          })),
          patterns: [
            {
              group: [
                '**/services/**',
                '**/activities/**',
                '**/lib/**',
                '**/workers/**',
                '**/stores/**',
                '**/ranking/**',
                '**/handoff/**',
              ],
              allowTypeImports: true,
              message: 'Workflows may import only types from activities, services, stores and ranking.',
            },
            sdkInternals,
          ],
        },
      ],
    },
  },
  {
    // The hand-off is shared by the command server and the sweep activity, so it cannot lean on either side.
    files: ['handoff/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/services/**', '**/activities/**', '**/workers/**', '**/workflows/**'],
              message: 'The hand-off may use domain, stores, lib and the pipeline (routing, contracts) only.',
            },
            sdkInternals,
          ],
        },
      ],
    },
  },
  {
    // Stores are adapters under every room: they may know the domain, the ranking schema and the pipeline (Temporal
    // visibility is read by search attribute), never a service, an activity, the hand-off, a worker or a workflow.
    files: ['stores/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/services/**', '**/activities/**', '**/handoff/**', '**/workers/**', '**/workflows/**'],
              message: 'Stores may import domain/, lib/, ranking/ and pipeline/ only.',
            },
            sdkInternals,
          ],
        },
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/services/**', '**/workflows/**'],
              message:
                'Activities run in workers under the workflows; shared code lives in pipeline/, handoff/, stores/ or domain/.',
            },
            sdkInternals,
          ],
        },
      ],
    },
  },
  {
    // The pipeline's vocabulary sits under workflows, activities and stores: it knows the domain and nothing else.
    files: ['pipeline/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./(?!domain/)', message: pipelineOnly }, sdkInternals] },
      ],
    },
  },
  {
    files: ['pipeline/contracts/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./\\.\\./(?!domain/)', message: pipelineOnly }, sdkInternals] },
      ],
    },
  },
  {
    // The registry is imported by everyone, so it imports nothing.
    files: ['pipeline/registry.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '.', message: 'The registry imports nothing.' }] }],
    },
  },
  {
    // One registry of workflow names, so a renamed workflow fails the type check instead of a start at run time.
    files: ['**/*.ts'],
    ignores: ['pipeline/registry.ts', 'test/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: `Literal[value=${workflowName}]`, message: namedByRegistry },
        {
          selector: `TemplateLiteral[expressions.length=0] > TemplateElement[value.cooked=${workflowName}]`,
          message: namedByRegistry,
        },
        // The SDK's own hygiene: a factory's boundary is its return type, written out, not inferred. Function
        // declarations (async too), default exports, and `export const createX = (…) =>` or `function (…)`.
        {
          selector: `:matches(ExportNamedDeclaration, ExportDefaultDeclaration) > FunctionDeclaration[id.name=${exportedFactory}]:not([returnType])`,
          message: factoryReturnType,
        },
        {
          selector: `ExportNamedDeclaration > VariableDeclaration > VariableDeclarator[id.name=${exportedFactory}]:not([id.typeAnnotation]) > :matches(ArrowFunctionExpression, FunctionExpression):not([returnType])`,
          message: factoryReturnType,
        },
      ],
    },
  },
  {
    // Tests lean on the product, never the other way round: scripts and benchmarks call feedflow through client/.
    files: ['**/*.ts'],
    ignores: ['test/**'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: import.meta.dirname,
          zones: [
            {
              target: './!(test)/**',
              from: './test',
              message: 'Nothing outside test/ imports test code; typed gRPC clients live in client/.',
            },
          ],
        },
      ],
    },
  },
  {
    // Keep functions short where the I/O lives; a factory returning many methods is split into named pieces.
    files: ['services/**/*.ts', 'activities/**/*.ts', 'stores/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  prettier,
);
