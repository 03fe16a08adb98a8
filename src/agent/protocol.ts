// The agent's side of src/agent/PROTOCOL.md. The plan schemas and result
// types are generated from codegen/protocol.ts (src/generated/protocol.ts);
// this module adds how the agent parses a plan.
import type { z } from 'zod';

export * from '../generated/protocol.js';

/** Parse with a schema; the error names the plan field that is wrong. */
export function parsePlan<T>(schema: z.ZodType<T>, plan: unknown, what: string): T {
  const r = schema.safeParse(plan);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new Error(`invalid ${what} plan: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}
