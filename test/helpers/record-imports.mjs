// Preload for `node --import`: every module the process imports is appended, one URL a line, to
// the file named by RECORD_IMPORTS_TO. Through Node's module hooks, so nothing in the CLI changes.
import { register } from 'node:module';

register(new URL('./record-imports-hooks.mjs', import.meta.url), { data: process.env['RECORD_IMPORTS_TO'] });
