// The WAL archive's public face: push, fetch, list, check, and name arithmetic.
export { walPush, type WalPushOptions, type WalPushResult } from './wal-push.js';
export { walFetch, type WalFetchOptions, type WalFetchResult } from './wal-fetch.js';
export { listArchivedWal, checkWalRange, type ArchivedWal, type CheckWalRangeOptions, type WalRangeCheck } from './wal-list.js';
export { CorruptWalError } from './wal-store.js';
export {
  DEFAULT_WAL_SEGMENT_SIZE,
  formatLsn,
  parseLsn,
  parseWalSegmentName,
  segmentStartLsn,
  walFileNameForLsn,
  walFileNameForSegNo,
  walSegmentRange,
} from './wal-names.js';
