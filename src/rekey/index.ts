// The re-encryption engine and its undo. Depends on directory and otp only.
export { runRekey } from './engine.js';
export type { RekeyRunOptions } from './engine.js';
export { runRestore } from './restore.js';
export type { RestoreOptions, RestoreSummary } from './restore.js';
export { prepareJob } from './job.js';
export type { RekeyJob, EntryPlan, PreparedJob } from './job.js';
export { BackupWriter, readBackup, sha256Hex, BACKUP_VERSION, NO_VALUE } from './backup.js';
export type { BackupHeader, BackupRecord, OriginalsRecord, WrittenRecord, RestoredRecord, BackupEntry, OpenedBackup, BackupJob } from './backup.js';
export type { RunSummary, RunProgress, StopReason, EntryOutcome, EntryReport } from './summary.js';
