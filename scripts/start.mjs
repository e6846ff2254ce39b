#!/usr/bin/env node
// `npm start`: builds dist/ only when a source is newer (build-if-stale.mjs), then runs the built CLI in this same
// process. One node start instead of npm's prestart hop followed by a second node process: that hop was a third of
// the time to ready on an already-built tree. package.json runs this file with --disable-proto=delete.
import { buildIfStale } from './build-if-stale.mjs';

buildIfStale();
await import('../dist/src/cli.js');
