#!/usr/bin/env node
// The `gitops` command as an ES module path, for scripts that call `node bin/gitops.js`; the package's "bin" is
// bin/gitops.cjs, which this runs.
import './gitops.cjs';
