// Lint rules the project holds itself to, on the typed program (src, bench, test): the
// recommended sets of ESLint and typescript-eslint, with type information, so promises never
// awaited and values of type any are caught, not only style. What is switched off, and why:
// - require-await: steps and stores implement async interfaces (Step.plan, rollback) whose
//   simple cases have nothing to await;
// - no-base-to-string: NITRO and report JSON arrive as unknown and are turned into text on purpose;
// - no-redundant-type-constituents: unions such as 'HA' | 'Stand-alone' | string document the
//   values NITRO is known to send while accepting others;
// - in tests, the unsafe-any and unbound-method rules: tests reach into library internals and
//   hand methods around (expect(fn).toThrow), which is what they are for.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-artifacts/**', '.adc-cutover/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: nodeGlobals },
  },
);
