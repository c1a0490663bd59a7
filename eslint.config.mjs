// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';

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

// A workflow's name as a string; 'startWorkflow' is the SDK's schedule action kind, not one of ours.
const workflowName = '/^(?!startWorkflow$)[a-z][A-Za-z]*Workflow$/';
const namedByRegistry = 'Name workflows through workflows/registry.ts (WORKFLOW_TYPES) or pass the workflow function.';

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
    plugins: { 'import-x': importX },
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
      'import-x/no-cycle': 'error',
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
              group: ['**/services/**', '**/activities/**', '**/workers/**'],
              message: 'The hand-off may use domain, stores, lib and workflow routing only.',
            },
          ],
        },
      ],
    },
  },
  {
    // Stores are adapters under every room: they may know the domain, the ranking schema and the workflow routing
    // (Temporal visibility is read by search attribute), never a service, an activity, the hand-off or a worker.
    files: ['stores/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/services/**', '**/activities/**', '**/handoff/**', '**/workers/**'],
              message:
                'Stores may import domain/, lib/, ranking/ and workflow routing (workflows/shared, contracts) only.',
            },
            {
              regex: '(^|/)workflows(/(?!(shared|contracts/[a-z-]+)$).*)?$',
              message:
                'Stores may import domain/, lib/, ranking/ and workflow routing (workflows/shared, contracts) only.',
            },
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
              group: ['**/services/**'],
              message: 'Activities run in workers; shared code lives in handoff/, stores/ or domain/.',
            },
          ],
        },
      ],
    },
  },
  {
    // One registry of workflow names, so a renamed workflow fails the type check instead of a start at run time.
    files: ['**/*.ts'],
    ignores: ['workflows/registry.ts', 'test/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: `Literal[value=${workflowName}]`, message: namedByRegistry },
        {
          selector: `TemplateLiteral[expressions.length=0] > TemplateElement[value.cooked=${workflowName}]`,
          message: namedByRegistry,
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
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  prettier,
);
