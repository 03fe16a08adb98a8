// Configuration from flags and environment, validated once with zod so every
// command gets the same errors for the same mistakes.
import { z } from 'zod';
import { CliError } from './errors.js';

const databaseUrl = z
  .string({ error: 'no database: pass --database-url or set DATABASE_URL' })
  .min(1, 'no database: pass --database-url or set DATABASE_URL')
  .refine((s) => /^postgres(ql)?:\/\//.test(s) || /(^|\s)(host|dbname|port|user)=/.test(s), {
    message: 'the database URL must look like postgresql://user@host:port/dbname',
  });

export function resolveDatabaseUrl(flag?: string): string {
  const parsed = databaseUrl.safeParse(flag ?? process.env.DATABASE_URL);
  if (!parsed.success) throw new CliError(parsed.error.issues[0]!.message, 2);
  return parsed.data;
}

/** Validates a value against a schema and turns the first issue into a usage error. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CliError(`${what}: ${parsed.error.issues[0]!.message}`, 2);
  return parsed.data;
}
