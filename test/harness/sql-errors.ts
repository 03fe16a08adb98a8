// What a statement expected to fail failed with: one definition for every suite.
import type pg from 'pg';

/** The error a promise rejects with (fails the test if it resolves). */
export async function sqlError(p: Promise<unknown>): Promise<pg.DatabaseError> {
  try {
    await p;
  } catch (e) {
    return e as pg.DatabaseError;
  }
  throw new Error('expected an SQL error, but the statement succeeded');
}

/** The SQLSTATE a promise rejects with. */
export async function sqlState(p: Promise<unknown>): Promise<string> {
  const e = await sqlError(p);
  return e.code ?? `no SQLSTATE: ${e.message}`;
}
