// The part of the lint toolchain that must see TypeScript 6: typescript-eslint
// cannot drive TypeScript 7.0 (its npm package has no JS compiler API).
// Everything imported here resolves from tools/lint/node_modules, where the
// root package.json "overrides" pins every `typescript` edge to 6.0.3.
export { default as tseslint } from 'typescript-eslint';
export { importX, createNodeResolver } from 'eslint-plugin-import-x';
