// LDAP access for the re-encryption engine and the steps: connect, scan, compare-and-swap, census.
export { connect, DirectoryClient } from './connect.js';
export type { ConnectOptions } from './connect.js';
export { escapeFilterValue, equalityFilter, presentFilter, andFilter, orFilter, parenthesize, checkAttributeName, checkFilter, filterProblem } from './filter.js';
export { splitDn, dnKey } from './dn.js';
export type { SplitDn } from './dn.js';
export { scan, scanPages, scanFilter, countEntries, readValue, readValues, valuesOf, DEFAULT_PAGE_SIZE } from './scan.js';
export type { ScannedEntry, ScanOptions } from './scan.js';
export { casReplace, casDelete } from './cas.js';
export { census } from './census.js';
export { behindOn, type StampVector } from './change-stamps.js';
export type { CensusOptions, CensusResult, KidCount, ProblemCount, ExtraAttributeCount } from './census.js';
export { DirectoryError, CasConflict, InsufficientAccess, DirectoryUnavailable, DryRunRefusal, NoSuchEntry, BadSearchBase, toDirectoryError, resultName } from './errors.js';
