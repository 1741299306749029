#!/usr/bin/env node
// The `gitops` command. The CLI is TypeScript run through tsx's loader (no build step after `npm ci`).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
