// ESLint (flat config): the TypeScript and Vue rules, and the layer rules that keep the tree's shape
// (docs/architecture.md): core imports nothing of the app; common imports neither main, renderer,
// Electron nor Node; the renderer imports neither main nor Electron; preload only common and Electron.
// Formatting is Prettier's job (.prettierrc.json); eslint-config-prettier turns off the rules that
// would fight it. `npm run lint` runs both; `npm test` runs lint first.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import pluginVue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Node built-ins by their bare names (exact module names, so '../path/x' is not one of them). */
const NODE_NAMES = [
  'fs',
  'fs/promises',
  'path',
  'os',
  'child_process',
  'worker_threads',
  'crypto',
  'url',
  'http',
  'https',
  'net',
  'stream',
  'util',
  'zlib',
  'events',
  'readline',
  'readline/promises',
];
const NATIVE_NAMES = ['electron', 'better-sqlite3', 'ws', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

/** A no-restricted-imports rule forbidding these module groups, with the reason in the message. */
function forbid(groups) {
  const paths = groups.flatMap(({ names = [], message }) => names.map((name) => ({ name, message })));
  const patterns = groups.filter((g) => g.group).map(({ group, message }) => ({ group, message }));
  return { 'no-restricted-imports': ['error', { paths, patterns }] };
}

const toMain = { group: ['**/main/**', '**/main'], message: 'this layer must not import main/ (docs/architecture.md)' };
const toRenderer = { group: ['**/renderer/**'], message: 'this layer must not import the renderer (docs/architecture.md)' };
const toPreload = { group: ['**/preload/**'], message: 'import the contract from common/, not preload/ (docs/architecture.md)' };
const toCommon = { group: ['**/common/**'], message: 'core is the math engine: it knows nothing of the app (docs/architecture.md)' };
const toNode = { group: ['node:*'], names: NODE_NAMES, message: 'this layer runs in every process: no Node APIs (docs/architecture.md)' };
const toNative = {
  group: ['electron/*'],
  names: NATIVE_NAMES,
  message: 'this layer runs in every process: no Electron, SQLite or native modules (docs/architecture.md)',
};

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'dist/**',
      'node_modules/**',
      '.tools/**',
      'test-results/**',
      'playwright-report/**',
      'python/**',
      'bench/results/**',
      '.scratch*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] } },
  },
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      // Unused names are an error, except deliberate ones spelled with a leading underscore.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Non-null assertions mark places where an invariant guarantees a value (indexed access under
      // noUncheckedIndexedAccess); the type checker, not the linter, is the judge there.
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  { files: ['core/**/*.ts'], rules: forbid([toMain, toRenderer, toPreload, toCommon, toNode, toNative]) },
  { files: ['common/**/*.ts'], rules: forbid([toMain, toRenderer, toPreload, toNode, toNative]) },
  {
    files: ['renderer/**/*.{ts,vue}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: forbid([toMain, toPreload, toNode, toNative]),
  },
  { files: ['preload/**/*.ts'], rules: forbid([toMain, toRenderer]) },
  { files: ['main/**/*.ts'], rules: forbid([toRenderer]) },
  {
    // Vue's style rules that Prettier formats anyway, and single-word view names the router uses.
    files: ['**/*.vue'],
    rules: {
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
    },
  },
  prettier,
);
