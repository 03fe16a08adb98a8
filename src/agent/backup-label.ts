// The backup_label inside base.tar: the server's own record of when and where
// the backup started. The server sends it as the archive's first member, so
// only the first kilobytes are decompressed.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { parseTar } from '../storage/tar.js';
import { zstdDecompressFile } from '../storage/zstd.js';

export interface BackupLabel {
  text: string;
  startLsn?: string;
  startTimeline?: number;
  /** START TIME as an ISO timestamp. */
  startTime?: string;
  label?: string;
}

/** "2026-11-22 01:16:01 UTC" → ISO; undefined if the zone is not one Date understands. */
function parseLabelTime(s: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) (.+)$/.exec(s.trim());
  if (!m) return undefined;
  const zone = m[3]!;
  const offset = zone === 'UTC' || zone === 'GMT' ? 'Z' : /^[+-]\d{2}(:?\d{2})?$/.test(zone) ? zone : undefined;
  if (!offset) return undefined;
  const d = new Date(`${m[1]}T${m[2]}${offset}`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function parseBackupLabel(text: string): BackupLabel {
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1];
  const start = /^([0-9A-F]+\/[0-9A-F]+)/i.exec(field('START WAL LOCATION') ?? '');
  const tli = field('START TIMELINE');
  const time = field('START TIME');
  return {
    text,
    startLsn: start?.[1]?.toUpperCase(),
    startTimeline: tli !== undefined ? Number(tli) : undefined,
    startTime: time !== undefined ? parseLabelTime(time) : undefined,
    label: field('LABEL'),
  };
}

/** backup_label from the first member of a tar stream; reads no further than that member. */
export async function labelFromTar(source: AsyncIterable<Buffer>, where: string): Promise<BackupLabel> {
  const parts: Buffer[] = [];
  let inLabel = false;
  for await (const ev of parseTar(source)) {
    if (ev.kind === 'entry') {
      if (ev.entry.path !== 'backup_label') break;
      inLabel = true;
    } else if (ev.kind === 'data' && inLabel) {
      parts.push(Buffer.from(ev.chunk));
    } else if (ev.kind === 'end' && inLabel) {
      return parseBackupLabel(Buffer.concat(parts).toString('utf8'));
    }
  }
  throw new Error(`${where}: backup_label is not the first member of the archive`);
}

export async function readBackupLabel(backupDir: string, baseTarName: string): Promise<BackupLabel> {
  const path = join(backupDir, baseTarName);
  const compressed = baseTarName.endsWith('.zst');
  const z = compressed ? zstdDecompressFile(path) : undefined;
  const source = z ? z.stdout : createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    return await labelFromTar(source, path);
  } finally {
    // We stop reading long before the end of the archive.
    z?.kill();
    if (!z) (source as ReturnType<typeof createReadStream>).destroy();
  }
}
