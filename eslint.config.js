// @ts-check
import { defineConfig, globalIgnores } from 'eslint/config';
import js from '@eslint/js';
import globals from 'globals';
// typescript-eslint and import-x come from the tools/lint workspace, which pins TypeScript 6.0.3
// for them (typescript-eslint cannot drive TypeScript 7); the root compiles with 7.
import { tseslint, importX, createNodeResolver } from '@kairos-spegel/lint';

// The layers of src/ (ARCHITECTURE.md, "Layers"): imports go one way, downwards.
//   main.ts -> cli -> app -> domain folders -> base
// Domain folders, top to bottom: each may import only the folders below it. Folders in one
// inner array share a level and may not import each other (node, hosts and metrics import only base).
const DOMAIN = ['health', 'upgrade', 'seed', 'unpack', 'pull', 'store', 'mirror', 'config', 'registry', ['node', 'hosts', 'metrics']];
const BASE = ['fs', 'log', 'util', 'native', 'errors.ts', 'version.ts'];

const src = (/** @type {string} */ name) => `./src/${name}`;
const levels = DOMAIN.map((level) => (Array.isArray(level) ? level : [level]));
/** The domain folders on level i and above it: what a folder on level i may not import. */
const atOrAbove = (/** @type {number} */ i) => levels.slice(0, i + 1).flat();
const layerZones = [
  // base imports no domain folder, nor app or cli
  ...BASE.map((name) => ({ target: src(name), from: [...levels.flat(), 'app', 'cli'].map(src), message: 'base imports only base' })),
  // a domain folder imports only the domain folders below its level, and never app or cli
  ...levels.flatMap((level, i) =>
    level.map((name) => {
      const from = [...atOrAbove(i).filter((other) => other !== name), 'app', 'cli'];
      return { target: src(name), from: from.map(src), message: 'domain folders import only the folders below them (DOMAIN in eslint.config.js)' };
    }),
  ),
  { target: src('app'), from: [src('cli')], message: 'app does not import cli' },
];

export default defineConfig(
  globalIgnores(['**/node_modules/', 'dist/', '.cache/', 'coverage/', 'bench/results/', 'testbed/fixtures/']),

  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  importX.flatConfigs.recommended,

  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs', '.cjs'],
      // Relative imports carry explicit `.ts` extensions: real files that the node resolver
      // finds. No TypeScript path mapping is used.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.node'] })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],

      // tsconfig has noUncheckedIndexedAccess: `xs[i]!` after a bounds check or a regex group
      // that matched is a deliberate claim, not a slip. The rule would only push `as` casts.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers and booleans print as expected in messages; objects, undefined and null don't.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],

      // `() => resolve()` and `return void done(err)` are this codebase's idioms for callbacks and
      // early returns; a void value stored in a variable is still reported.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidOperator: true, ignoreVoidReturningFunctions: true }],
      // Same idiom: `return void f()` in a callback whose f returns void says "stop here".
      '@typescript-eslint/no-meaningless-void-operator': 'off',

      // An async function without await is how this code turns a throw into a rejection and meets
      // a Promise-returning interface; a forgotten await is no-floating-promises' business.
      '@typescript-eslint/require-await': 'off',
      // Rejecting with an AbortSignal's reason (typed any) is what an aborted await does; literals and
      // plain objects are still reported.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `{ samples: _s, ...rest }` drops a key; `_x` parameters fill a signature (as tsc's noUnused*).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],

      // typescript-eslint already checks these for TS sources
      'import-x/named': 'off',
      'import-x/namespace': 'off',
      'import-x/default': 'off',
      'import-x/no-named-as-default-member': 'off',
    },
  },

  // Tests read the agent's --json output and files through JSON.parse (any) and assert on the
  // shape with expect(); afterAll cleans up with `x?.stop()` values that a failed beforeAll may
  // have left unset although their declared types say otherwise.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // `read<T>(digest)`: a typed JSON.parse of a blob in a test's own layout
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      // Property tests take strings apart by code point and generate control characters on purpose.
      '@typescript-eslint/no-misused-spread': 'off',
      'no-control-regex': 'off',
    },
  },

  // Plain JS (this file, tools/, scripts/*.mjs) is outside tsconfig: no type information.
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);
