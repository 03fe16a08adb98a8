// The one wait of awaitBackup and awaitRecovery: block in the server's
// await_* function, or (with onProgress) poll the row and report each state.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AwaitLoop<Row, P> {
  timeoutMs: number;
  pollMs: number;
  onProgress?: (p: P) => void;
  /** The current row (throws when there is none). */
  read: () => Promise<Row>;
  /** Blocks in await_backup / await_recovery until final; rejects with SQLSTATE 57014 on timeout. */
  serverWait: (first: Row) => Promise<unknown>;
  isFinal: (row: Row) => boolean;
  progressOf: (row: Row) => P;
  /** The error of a wait that timed out, given the row's latest state. */
  timedOut: (row: Row) => Error;
}

export async function awaitFinal<Row, P>(w: AwaitLoop<Row, P>): Promise<Row> {
  const first = await w.read();
  if (!w.onProgress) {
    try {
      await w.serverWait(first);
    } catch (e) {
      if ((e as { code?: string }).code === '57014') throw w.timedOut(await w.read());
      throw e;
    }
    return w.read();
  }
  const deadline = Date.now() + w.timeoutMs;
  let row = first;
  for (;;) {
    w.onProgress(w.progressOf(row));
    if (w.isFinal(row)) return row;
    if (Date.now() >= deadline) throw w.timedOut(row);
    await sleep(Math.min(w.pollMs, Math.max(0, deadline - Date.now())));
    row = await w.read();
  }
}
