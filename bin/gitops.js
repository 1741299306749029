#!/usr/bin/env node
// The `gitops` command: the bundle bin/build.js writes to dist/ (`npm ci` builds it through the `prepare` script).
import './../dist/gitops.mjs';
