// getBackup and getRecovery: one row of get_backup / get_recovery, or the
// client's not-found error (for no row and for the function's P0002 alike).
export async function getOne<Row>(query: () => Promise<{ rows: Row[] }>, notFound: () => Error): Promise<Row> {
  try {
    const r = await query();
    if (r.rows[0]) return r.rows[0];
  } catch (e) {
    if ((e as { code?: string }).code !== 'P0002') throw e;
  }
  throw notFound();
}
