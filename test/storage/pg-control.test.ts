// Our readings of pg_control and WAL page headers against PostgreSQL's own tools.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSystemIdentifierFromControl, readSystemIdentifierFromControl, readWalSegmentHeader, WAL_PAGE_MAGIC } from '../../src/storage/pg-control.js';
import { parseWalSegmentName, segmentStartLsn } from '../../src/storage/wal-names.js';
import { pgTool } from '../../src/util/process.js';
import { useCluster } from '../harness/cluster.js';
import { psqlValue, run } from './helpers.js';

const cluster = useCluster({ name: 'pgcontrol', pgCron: false });

describe('pg_control and WAL headers', () => {
  it('system identifier matches pg_controldata', async () => {
    const c = cluster();
    const out = await run(pgTool('pg_controldata'), ['-D', c.dataDir]);
    const expected = /^Database system identifier:\s+(\d+)$/m.exec(out)![1];
    expect(await readSystemIdentifierFromControl(c.dataDir)).toBe(expected);
    // Beyond 2^53: must not go through a JS number.
    expect(BigInt(expected!)).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    expect(await psqlValue(c, 'SELECT system_identifier FROM pg_control_system()')).toBe(expected);
  });

  it('parses the long header of a real WAL segment', async () => {
    const c = cluster();
    await c.query('CREATE TABLE IF NOT EXISTS t AS SELECT 1 AS x');
    await c.query('CHECKPOINT');
    const name = await psqlValue(c, 'SELECT pg_walfile_name(pg_current_wal_flush_lsn())');
    const buf = await readFile(join(c.dataDir, 'pg_wal', name));
    const h = readWalSegmentHeader(buf);
    expect(h.magic).toBe(0xd110);
    expect(h.magic).toBe(WAL_PAGE_MAGIC[15]);
    expect(h.timeline).toBe(1);
    expect(h.systemIdentifier).toBe(await readSystemIdentifierFromControl(c.dataDir));
    expect(h.segSize).toBe(16 * 1024 * 1024);
    expect(h.blockSize).toBe(8192);
    expect(h.pageAddr).toBe(segmentStartLsn(parseWalSegmentName(name).segNo));
    // The second page has a short header only.
    expect(() => readWalSegmentHeader(buf.subarray(8192))).toThrow(/XLP_LONG_HEADER/);
  });

  it('refuses too little input', () => {
    expect(() => parseSystemIdentifierFromControl(Buffer.alloc(4))).toThrow(/too short/);
    expect(() => readWalSegmentHeader(Buffer.alloc(39))).toThrow(/40 bytes/);
  });
});
