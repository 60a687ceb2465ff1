// Build step (`npm run build`, after tsc): renders the top-level --help at each width fast-path.ts
// answers without yargs, from the yargs definitions themselves, next to fast-path.js in dist.
// test/cli/fast-path.test.ts fails when a file here and a fresh rendering differ.
import { writeFileSync } from 'node:fs';
import { printedByYargs } from './docs.js';
import { PRERENDERED_WIDTHS, prerenderedHelpFile } from './fast-path.js';

for (const width of PRERENDERED_WIDTHS) writeFileSync(prerenderedHelpFile(width), await printedByYargs(['--help'], width));
