// The storage layer's public API: repository layout, WAL archive, backup
// verification. The CLI and the agent import from here.
export * from './fsync.js';
export * from './layout.js';
export * from './pg-control.js';
export * from './manifest.js';
export * from './wal-archive.js';
export { verifyStoredBackup, verifyTarBackup, type VerifyTarOptions, type VerifyStoredOptions } from './verify-tar.js';
export { verifyByExtract, type VerifyExtractOptions } from './verify-extract.js';
export { extractBackup, type ExtractOptions, type ExtractResult } from './extract.js';
export type { VerifyResult } from './verify-common.js';
