// Lint rules that catch the mistakes that matter in a server: floating promises, type-only imports
// mixed with values, and imports that cross the context fence.
import { dirname, relative, resolve, sep } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The context fence (docs/architecture.md): which context may import which, and through which files.
// A context is a folder of src/; another context is reached only through one of its entry files, at
// any depth of either folder, and only along the allowed arrows. Tests, benchmarks and scripts stand
// outside the fence.
const ARROWS = {
  core: [],
  serve: ['core'],
  train: ['core'],
  monitor: ['core'],
  lifecycle: ['core', 'train'],
  cli: ['core', 'serve', 'train', 'monitor', 'lifecycle'],
};
// Entries per context: index.ts, plus heavy adapters on entries of their own (core's tfjs.ts).
const ENTRIES = { core: ['index.ts', 'tfjs.ts'] };
const entriesOf = (context) => ENTRIES[context] ?? ['index.ts'];
const SRC = resolve(import.meta.dirname, 'src');

/** The context a path under src/ belongs to, and the path inside it; undefined outside src/. */
function placeOf(path) {
  const rel = relative(SRC, path);
  if (rel.startsWith('..') || rel === '') return undefined;
  const [context, ...rest] = rel.split(sep);
  return rest.length === 0 ? undefined : { context, inside: rest.join('/') };
}

const contextFence = {
  meta: { type: 'problem', schema: [], messages: { arrow: '{{from}} must not import {{to}} (allowed: {{allowed}}); see docs/architecture.md.', entry: 'Import {{to}} through its entry ({{entries}}), not {{inside}}.' } },
  create(context) {
    const from = placeOf(context.filename);
    if (!from) return {};
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = placeOf(resolve(dirname(context.filename), source.replace(/\.js$/, '.ts')));
      if (!target || target.context === from.context) return;
      const allowed = ARROWS[from.context] ?? [];
      if (!allowed.includes(target.context)) {
        context.report({ node, messageId: 'arrow', data: { from: from.context, to: target.context, allowed: allowed.join(', ') || 'nothing' } });
      } else if (!entriesOf(target.context).includes(target.inside)) {
        context.report({ node, messageId: 'entry', data: { to: target.context, entries: entriesOf(target.context).join(', '), inside: target.inside } });
      }
    };
    const fromSource = (node) => node.source && check(node.source, node.source.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'models/**', 'coverage/**', '**/*.mjs', '**/*.js', '!eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { driftgate: { rules: { 'context-fence': contextFence } } },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'driftgate/context-fence': 'error',
    },
  },
);
