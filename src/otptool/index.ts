// `adc-cutover otptool`: the vendor OTP encryption tool's command line on top of the engine.
export { runOtptool } from './run.js';
export type { OtptoolIo } from './run.js';
export { translate, readOptions, directoryUrl, bindHint, usage, OPTIONS, PASSWORD_ENV, DEFAULT_LOG, NESTED_GROUP_RULE, OPERATION_NAMES } from './args.js';
export type { OtptoolSettings, Operation, CertArgs } from './args.js';
export { AppLog } from './applog.js';
export type { EntryEvent, EntryOutcome, LogLevel } from './applog.js';
export { runCopy } from './copy.js';
export type { CopyRunOptions } from './copy.js';
export { vendorSummary } from './summary.js';
