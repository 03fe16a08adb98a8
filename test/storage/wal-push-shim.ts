// archive_command for the tests: `node <bundle of this file> %p <repo> [timing log]`.
// Mirrors what `backup-mgmt wal-push` will do: exit non-zero on any error.
import { appendFileSync } from 'node:fs';
import { walPush } from '../../src/storage/wal-push.js';

const [walPath, repo, timingLog] = process.argv.slice(2);
if (!walPath || !repo) {
  console.error('usage: wal-push-shim <%p> <repo> [timing-log]');
  process.exit(2);
}
const started = performance.now();
try {
  const r = await walPush({ repo, walPath });
  const ms = performance.now() - started;
  if (timingLog) appendFileSync(timingLog, `${JSON.stringify({ ...r, pushMs: ms, processMs: performance.now() })}\n`);
} catch (e) {
  console.error(`wal-push ${walPath}: ${(e as Error).message}`);
  process.exit(1);
}
