// The circular-import check of `npm run lint` (the layer rules are eslint's, eslint.config.js): no module of src/
// may reach itself through its imports, type-only imports included.
module.exports = {
  forbidden: [{ name: 'no-circular', severity: 'error', comment: 'an import cycle between modules of src/', from: {}, to: { circular: true } }],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
