#!/usr/bin/env node
// The `gitops` command (package.json "bin"): the bundle bin/build.js writes to dist/ — `npm ci` builds it through the
// `prepare` script, `npm start` and the test suite rebuild it. CommonJS on purpose: `gitops --help` then runs without
// Node's ES module loader. A checkout whose node_modules came without `npm ci` builds dist/ once here.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'gitops.cjs');
if (existsSync(bundle)) require(bundle);
else import('./build.js').then(({ buildCli }) => buildCli()).then(() => require(bundle));
