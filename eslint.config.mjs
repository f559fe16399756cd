// Lint: typescript-eslint's recommended rules, promises that are never awaited, and the import
// boundaries between folders (what may depend on what). `npm run lint` also runs madge for cycles.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FOLDERS = ['contracts', 'temporal', 'lib', 'activities', 'workflows', 'workers', 'cli', 'infra', 'test', 'bench'];

/** Node's built-in modules, bare (`fs`, `fs/promises`) and with the `node:` scheme. */
const NODE_BUILTINS = builtinModules.filter((m) => !m.startsWith('_'));
const nodeBuiltins = (why) => [
  ...NODE_BUILTINS.map((name) => ({ name, message: why })),
  ...NODE_BUILTINS.map((name) => ({ name: `node:${name}`, message: why })),
];
const NODE_SCHEME = { group: ['node:*'], message: 'no Node built-ins here' };

/** Heavy or non-deterministic packages a workflow must never load. */
const HEAVY = ['@tensorflow/*', 'sharp', '@aws-sdk/*', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing', 'p-limit'];

/** Relative imports that reach one of the named top-level folders, from any depth. */
const reaching = (folders) => `^(\\.\\./)+(${folders.join('|')})(/.*)?$`;

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bundle/**', 'node_modules/**', '.tl/**', 'test-output/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: FOLDERS.map((f) => `${f}/**/*.ts`),
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Type-aware: a promise nobody awaits hides its rejection (and, in a workflow, its ordering).
      // node:test's test() returns a promise the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      // Also type-aware: a promise where a plain value is expected (an `if`, a void callback), or awaiting a non-promise.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `_`-prefixed names are deliberately unused (callback positions, destructured leftovers).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // tsc checks these (noUnusedLocals, strict), and `require()` is how the CommonJS build loads lazily.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox, replayed from history.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins('workflows run in a deterministic sandbox: no Node built-ins'),
          patterns: [
            NODE_SCHEME,
            { group: HEAVY, message: 'workflows must not load heavy or non-deterministic modules: do that in an activity' },
            // Activities are called through proxyActivities: their types only, never their code.
            { group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'workflows import activities as types only (`import type`)' },
            {
              regex: '^(?!(\\.\\./contracts(/.*)?|\\./[\\w.-]+|\\.\\./activities(/.*)?|@temporalio/(workflow|common)|zod)$)',
              message: 'workflows may import only contracts/, other workflows/ files, @temporalio/workflow, @temporalio/common and zod',
            },
          ],
        },
      ],
    },
  },
  {
    // lib/ is pure: no Temporal, no process wiring, no CLI.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: reaching(['cli', 'infra', 'workflows', 'activities', 'workers', 'temporal']), message: 'lib/ depends only on lib/ and contracts/' },
            { group: ['@temporalio/*'], message: 'lib/ knows nothing of Temporal: that belongs in activities/, workflows/, workers/ or temporal/' },
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
        { patterns: [{ regex: reaching(['workflows']), message: 'activities do not depend on workflows: shared shapes live in contracts/' }] },
      ],
    },
  },
  {
    // contracts/ is what crosses process boundaries: plain shapes every side can load.
    files: ['contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins('contracts/ must load anywhere, workflows included: no Node built-ins'),
          patterns: [
            NODE_SCHEME,
            { regex: '^\\.\\./', message: 'contracts/ imports nothing from the rest of the repository' },
            { group: ['@tensorflow/*', 'sharp'], message: 'contracts/ holds plain shapes: no tfjs, no sharp' },
          ],
        },
      ],
    },
  },
);
