// Settings with one default, read by the engine, the restore, otptool, the inventory schema and
// the command line's help, so the number a user is told is the number the engine uses.

/** Writer connections to the directory (each with two groups of modifies in flight). */
export const DEFAULT_CONCURRENCY = 8;
