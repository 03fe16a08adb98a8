// Outputs of the job contract (codegen/protocol.ts): the TypeScript job types,
// the agent's zod plan schemas and result types, the SQL checks and the
// complete_job dispatch, and the protocol tables.
import type { Field, JobType, PlanKind, Protocol } from '../protocol-types.js';
import { sqlArray, sqlString } from './shared.js';

const BY = 'by codegen/generate.ts from codegen/protocol.ts';
const tsHead = (what: string) => `// @generated ${BY} -- do not edit.\n// ${what}\n`;
const sqlHead = (what: string) => `-- @generated ${BY} -- do not edit.\n-- ${what}\n`;

const kinds = (p: Protocol): { type: JobType; kind: PlanKind }[] => p.jobTypes.flatMap((type) => type.kinds.map((kind) => ({ type, kind })));
const quoted = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');
const doc = (text: string, indent = '') => `${indent}/** ${text} */\n`;

export function emitJobTypes(p: Protocol): string {
  const names = p.jobTypes.map((t) => t.name);
  const kindLines = p.jobTypes.map((t) => `  ${t.name}: [${quoted(t.kinds.map((k) => k.kind))}],`).join('\n');
  const meaning = p.jobTypes.map((t) => ` *   ${t.name}: ${t.meaning}`).join('\n');
  return `${tsHead('The job types of the agent protocol, for the client and the agent.')}
/**
 * Every job type claim_job hands out (backup_mgmt._job_types() in SQL):
${meaning}
 */
export const JOB_TYPES = [${quoted(names)}] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** plan.kind values of each job type. */
export const PLAN_KINDS = {
${kindLines}
} as const satisfies Record<JobType, readonly string[]>;
`;
}

function planSchema(kind: PlanKind): string {
  // The kind field is plan()'s first argument; the model lists it like any other field (tables, SQL checks).
  const [first, ...fields] = kind.plan.fields;
  if (first?.name !== 'kind' || first.type.zod !== `z.literal('${kind.kind}')`) throw new Error(`plan ${kind.kind}: the first field must be kind = '${kind.kind}'`);
  const body = fields.map((f) => `${doc(f.meaning, '  ')}  ${f.name}: ${f.type.zod},`).join('\n');
  const refines = (kind.plan.refine ?? []).map((r) => `\n  .refine((p) => ${r.check}, {\n    message: ${JSON.stringify(r.message)},\n  })`).join('');
  return `/** Plan of kind "${kind.kind}" (PROTOCOL.md "${kind.docSection}"), written by ${kind.queuedBy}. */
export const ${kind.planName} = plan('${kind.kind}', {
${body}
})${kind.plan.loose ? '\n  .loose()' : ''}${refines};
export type ${kind.planName} = z.infer<typeof ${kind.planName}>;`;
}

const member = (f: Field, indent = '  ') => `${doc(f.meaning.replace(/\\\|/g, '|'), indent)}${indent}${f.name}${f.required || !f.type.optional ? '' : '?'}: ${f.type.ts};`;

function resultType(kind: PlanKind): string {
  return `/** complete_job result of a "${kind.kind}" plan, applied by ${kind.applyResult} (PROTOCOL.md "${kind.docSection}"). */
export interface ${kind.resultName} {
${kind.result.fields.map((f) => member(f)).join('\n')}
}`;
}

export function emitProtocolZod(p: Protocol): string {
  const constants = p.constants.map((c) => `/**\n * ${c.comment}\n */\nexport const ${c.name} = ${c.expr};`).join('\n\n');
  const prims = p.primitives.map((x) => `${x.comment.includes('\n') ? `/**\n * ${x.comment}\n */` : `/** ${x.comment} */`}\nexport const ${x.name} = ${x.zod};`).join('\n\n');
  const named = p.named.map((n) => `/** ${n.comment} */\nexport interface ${n.name} {\n${n.fields.map((f) => member(f)).join('\n')}\n}`).join('\n\n');
  const verificationStatus = p.named.find((n) => n.name === 'Verification')?.fields.find((f) => f.name === 'status')?.type.ts ?? 'string';
  const all = kinds(p);
  return `${tsHead("The agent's side of the job contract: zod schemas of each plan, TypeScript types of each result.")}
// A plan that does not parse is a bug on one side of the contract; the job
// fails with the schema's complaint instead of the agent guessing.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { JOB_TYPES } from './job-types.js';

${constants}

${prims}

/** A claimed job (claim_job's row), as the agent reads it. */
export const JobRow = z.object({
  job_id: int8,
  job_type: z.enum(JOB_TYPES),
  plan: z.record(z.string(), z.unknown()),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
});
export type JobRow = z.infer<typeof JobRow>;

/** A plan's schema: \`kind\` is the plan kind, then its own fields. */
const plan = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) => z.object({ kind: z.literal(kind) }).extend(shape);

${all.map(({ kind }) => planSchema(kind)).join('\n\n')}

export type VerificationStatus = ${verificationStatus};
export type ValidationStatus = 'PASSED' | 'FAILED' | 'PARTIAL';

${named}

${all.map(({ kind }) => resultType(kind)).join('\n\n')}
`;
}

// --- SQL -------------------------------------------------------------------

/** An IMMUTABLE LANGUAGE sql function returning text[]: the shape of every lookup below. */
function textArrayFunction(schema: string, what: string, name: string, params: [string, string][], body: string, comment: string): string {
  const signature = params.map(([n, type]) => `${n} ${type}`).join(', ');
  return `${sqlHead(what)}
CREATE OR REPLACE FUNCTION ${schema}.${name}(${signature})
RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    ${body}
$$;

COMMENT ON FUNCTION ${schema}.${name}(${params.map(([, type]) => type).join(', ')}) IS
${sqlString(`Internal (generated from codegen/protocol.ts): ${comment}`)};
`;
}

export function emitJobTypesSql(p: Protocol, schema: string): string {
  return textArrayFunction(
    schema,
    'The job types claim_job hands out and the job table accepts.',
    '_job_types',
    [],
    `SELECT ${sqlArray(p.jobTypes.map((t) => t.name))}`,
    `the job types of the agent protocol, ${p.jobTypes.map((t) => `${t.name} (${t.meaning})`).join('; ')}. claim_job and the job table's CHECK use it.`,
  );
}

/** A lookup (job type, plan kind) -> field names, one WHEN per kind that lists any. */
function perKindFunction(p: Protocol, schema: string, what: string, name: string, pick: (k: PlanKind) => string[] | null, otherwise: string, comment: string) {
  const whens = kinds(p)
    .map(({ type, kind }) => ({ type, kind, names: pick(kind) }))
    .filter((x) => x.names !== null)
    .map((x) => `        WHEN p_job_type = ${sqlString(x.type.name)} AND p_kind IS NOT DISTINCT FROM ${sqlString(x.kind.kind)} THEN ${sqlArray(x.names!)}`)
    .join('\n');
  const params: [string, string][] = [
    ['p_job_type', 'text'],
    ['p_kind', 'text'],
  ];
  return textArrayFunction(schema, what, name, params, `SELECT CASE\n${whens}\n${otherwise ? `        ELSE ${otherwise}\n` : ''}    END`, comment);
}

export function emitResultRequiredSql(p: Protocol, schema: string): string {
  return perKindFunction(
    p,
    schema,
    'The result fields complete_job requires, per job type and plan kind, in the order they are reported missing.',
    '_job_result_required',
    (k) => {
      const req = k.result.fields.filter((f) => f.required).map((f) => f.name);
      return req.length ? req : null;
    },
    'ARRAY[]::text[]',
    'the result fields a job of this type and plan kind must report, in order; the _apply_*_result functions refuse a result lacking any (22023). Empty for others.',
  );
}

export function emitPlanRequiredSql(p: Protocol, schema: string): string {
  return perKindFunction(
    p,
    schema,
    'The plan keys the agent cannot do without, per job type and plan kind (null may be a value).',
    '_job_plan_required',
    (k) => k.plan.fields.filter((f) => !f.type.optional).map((f) => f.name),
    '',
    'the top-level keys a plan of this job type and kind must carry (the agent refuses it otherwise); NULL for an unknown type or kind. The SQL that queues jobs is tested against it.',
  );
}

export function emitApplyResultSql(p: Protocol, schema: string): string {
  const call = (k: PlanKind) => `PERFORM ${schema}.${k.applyResult}(p_job, p_result, p_agent_id);`;
  const branches = p.jobTypes
    .map((t) => {
      if (t.kinds.length === 1) return `        WHEN ${sqlString(t.name)} THEN\n            ${call(t.kinds[0]!)}`;
      const [first, ...rest] = t.kinds;
      return `        WHEN ${sqlString(t.name)} THEN\n            CASE p_job.plan->>'kind'\n${rest
        .map((k) => `                WHEN ${sqlString(k.kind)} THEN ${call(k)}`)
        .join('\n')}\n                ELSE ${call(first!)}\n            END CASE;`;
    })
    .join('\n');
  const names = p.jobTypes.map((t) => t.name);
  const only = `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return `${sqlHead("complete_job's dispatch: the result of each job type and plan kind goes to its handler.")}
CREATE OR REPLACE FUNCTION ${schema}._apply_job_result(p_job ${schema}.job, p_result jsonb, p_agent_id text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
-- A job type with several plan kinds hands an unknown kind to its first
-- kind's handler, which refuses it (0A000).
BEGIN
    CASE p_job.job_type
${branches}
        ELSE
            RAISE EXCEPTION 'complete_job: results of % jobs are not supported yet', p_job.job_type
                USING ERRCODE = '0A000', HINT = ${sqlString(`Only ${only} jobs can complete.`)};
    END CASE;
END;
$$;

COMMENT ON FUNCTION ${schema}._apply_job_result(${schema}.job, jsonb, text) IS
${sqlString(`Internal (generated from codegen/protocol.ts; complete_job): applies a result through the handler of its job type and plan kind: ${kinds(p)
    .map(({ type, kind }) => `${type.name} ${kind.kind}: ${kind.applyResult}`)
    .join('; ')}.`)};
`;
}

// --- Markdown --------------------------------------------------------------

const cell = (s: string) => s.replace(/\n/g, ' ').replace(/(?<!\\)\|/g, '\\|');

function rows(fields: Field[], prefix = '', withRequired = false): string[] {
  return fields.flatMap((f) => {
    const name = `\`${prefix}${f.name}\``;
    const type = cell(f.type.doc);
    const line = withRequired
      ? `| ${name} | ${type} | ${f.required ? 'yes' : ''} | ${cell(f.meaning)} |`
      : `| ${name} | ${type} | ${cell(f.meaning)} |`;
    const sub = f.type.fields ? rows(f.type.fields, `${prefix}${f.name}${f.type.doc.startsWith('array') ? '[]' : ''}.`, withRequired) : [];
    return [line, ...sub];
  });
}

export function emitProtocolDoc(p: Protocol): string {
  const overview = p.jobTypes
    .map((t) => `| \`${t.name}\` | ${t.meaning} | ${t.kinds.map((k) => `\`${k.kind}\``).join(', ')} | ${t.kinds.map((k) => `\`${k.queuedBy}\``).join(', ')} | ${t.executor} |`)
    .join('\n');
  const sections = kinds(p)
    .map(
      ({ type, kind }) => `## ${type.name}, plan kind \`${kind.kind}\`

Queued by \`${kind.queuedBy}\`; the result goes to \`${kind.applyResult}\`. The prose is in
[PROTOCOL.md "${kind.docSection}"](PROTOCOL.md). Agent types: \`${kind.planName}\`, \`${kind.resultName}\`
(src/generated/protocol.ts).

Plan:

| field | type | meaning |
| --- | --- | --- |
${rows(kind.plan.fields).join('\n')}
${(kind.plan.refine ?? []).length ? `\nAlso: ${(kind.plan.refine ?? []).map((r) => r.message).join('; ')}.\n` : ''}
Result (\`complete_job\`; a missing required field is \`22023\` naming it, nothing written):

| field | type | required | meaning |
| --- | --- | --- | --- |
${rows(kind.result.fields, '', true).join('\n')}
`,
    )
    .join('\n');
  return `<!-- @generated ${BY} -- do not edit. -->
# Agent protocol: the jobs

The job contract between SQL and the agent, generated from
[codegen/protocol.ts](../../codegen/protocol.ts); [PROTOCOL.md](PROTOCOL.md) tells
how the functions behave. Everything below also exists as code, from the same
model: \`backup_mgmt._job_types()\`, \`_job_result_required()\` and
\`_apply_job_result()\` (sql/00-generated/protocol/), \`JOB_TYPES\` / \`JobType\`
(src/generated/job-types.ts), the zod plan schemas and result types
(src/generated/protocol.ts).

| job type | what | plan kinds | queued by | executor |
| --- | --- | --- | --- | --- |
${overview}

**Adding a job type** is one entry in \`jobTypes\` of codegen/protocol.ts (its
plan and result fields, \`queuedBy\`, \`applyResult\`), \`npm run codegen\`, then
its executor: an entry in \`EXECUTORS\` of src/agent/job-runner.ts (the agent
does not compile without one), and the SQL function named in \`applyResult\`.
The job table's CHECK, \`claim_job\`'s validation and \`complete_job\`'s dispatch
follow the model.

${sections}`;
}
