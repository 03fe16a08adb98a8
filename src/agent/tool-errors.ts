// What to tell the catalog when a PostgreSQL tool fails: its own words
// (the lines that explain, not the chatter), and whether trying again could help.

// Progress lines ("1234/5678 kB (21%), 0/1 tablespace") and the verbose
// narration pg_basebackup prints on success as well as on failure.
const NOISE = [
  /^\s*\d+\/\d+ kB/,
  /^pg_basebackup: (initiating base backup|checkpoint completed|write-ahead log (start|end) point|waiting for background process|syncing data|renaming backup_manifest|base backup completed|starting background WAL receiver|created temporary replication slot)/,
  /^pg_basebackup: (removing|changes to) (data directory|contents of data directory)/,
  /^pg_basebackup: (data directory|contents of data directory) .* (removed|kept)/,
];

const MAX_REASON = 2000;

/** The explanatory lines of a tool's stderr, joined into one line. */
export function toolReason(stderr: string, maxLines = 4): string {
  const lines = stderr
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !NOISE.some((re) => re.test(l)));
  const important = lines.filter((l) => /(error|fatal|detail|hint|could not|failed|denied|panic):/i.test(l) || /^(FATAL|ERROR|DETAIL|HINT)/.test(l));
  const chosen = (important.length > 0 ? important : lines).slice(-maxLines);
  // "pg_basebackup: error: could not …" → "could not …": the caller names the tool once.
  const text = chosen
    .map((l) => l.replace(/^[a-z_]+: (error: )?/, ''))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

// Retrying cannot fix configuration: authentication, authorization, pg_hba, disk.
const PERMANENT = [
  /no pg_hba\.conf entry/i,
  /must be superuser or replication role/i,
  /permission denied/i,
  /password authentication failed/i,
  /authentication failed/i,
  /role ".*" does not exist/i,
  /is not permitted to log in/i,
  /no space left on device/i,
  /read-only file system/i,
  /EACCES|EROFS|ENOSPC|EDQUOT/,
];

// The server or the network went away for a moment.
const TRANSIENT = [
  /could not connect to server/i,
  /connection to server .* failed: (Connection refused|No such file or directory|timeout|Connection timed out)/i,
  /server closed the connection unexpectedly/i,
  /terminating connection due to/i,
  /could not (receive|send) data/i,
  /connection (reset|timed out|refused)/i,
  /SSL SYSCALL/i,
  /the database system is (starting up|shutting down|in recovery|not yet accepting connections)/i,
  /too many connections|remaining connection slots are reserved/i,
  /number of requested standby connections exceeds/i,
  /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE/,
];

/** Only a lost connection is worth another attempt; anything else would fail the same way. */
export function isRetryable(reason: string): boolean {
  if (PERMANENT.some((re) => re.test(reason))) return false;
  return TRANSIENT.some((re) => re.test(reason));
}
