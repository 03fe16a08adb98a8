// The vocabulary the agent protocol (codegen/protocol.ts) is written in. A
// value type knows its zod schema (what the agent parses a plan with), its
// TypeScript type (what the agent reports in a result) and a short name for
// the protocol tables; objects keep their fields so the tables can nest.

export interface ValueType {
  zod: string;
  ts: string;
  doc: string;
  /** the fields of an object type, for the documentation tables */
  fields?: Field[];
  /** absent from a result is fine (`name?:` in TypeScript) */
  optional?: boolean;
}

export interface Field {
  name: string;
  type: ValueType;
  meaning: string;
  /** complete_job refuses a result without it (22023 "lacks …"), in this order */
  required?: boolean;
}

export interface Refinement {
  /** a TypeScript predicate over the parsed plan `p` */
  check: string;
  message: string;
}

export interface Shape {
  fields: Field[];
  /** unknown keys pass (plans carry more than an agent reads) */
  loose?: boolean;
  refine?: Refinement[];
}

export interface PlanKind {
  /** plan.kind */
  kind: string;
  /** exported names of the generated zod schema / result type */
  planName: string;
  resultName: string;
  /** the SQL function that queues it */
  queuedBy: string;
  /** the SQL function complete_job hands its result to */
  applyResult: string;
  plan: Shape;
  result: Shape;
  /** heading of its section in src/agent/PROTOCOL.md */
  docSection: string;
}

export interface JobType {
  name: string;
  meaning: string;
  /** the agent module that executes it */
  executor: string;
  kinds: PlanKind[];
}

export interface Primitive {
  /** exported constant in src/generated/protocol.ts */
  name: string;
  /** its zod expression */
  zod: string;
  ts: string;
  doc: string;
  comment: string;
}

/** A named object type of results (Verification, StoredFile …), emitted as an interface. */
export interface NamedType {
  name: string;
  comment: string;
  fields: Field[];
}

/** A plain constant the primitives use (e.g. a RegExp). */
export interface Constant {
  name: string;
  expr: string;
  comment: string;
}

export interface Protocol {
  constants: Constant[];
  primitives: Primitive[];
  named: NamedType[];
  jobTypes: JobType[];
}

const t = (zod: string, ts: string, doc: string): ValueType => ({ zod, ts, doc });

/** A named primitive of the protocol (hex, lsn, absolute path …). */
export const prim = (p: Primitive): ValueType => t(p.name, p.ts, p.doc);

export const v = {
  string: t('z.string()', 'string', 'string'),
  boolean: t('z.boolean()', 'boolean', 'boolean'),
  number: t('z.number()', 'number', 'number'),
  int: (min?: number, max?: number): ValueType =>
    t(`z.number().int()${min === undefined ? '' : `.min(${min})`}${max === undefined ? '' : `.max(${max})`}`, 'number', 'integer'),
  positiveInt: t('z.number().int().positive()', 'number', 'integer > 0'),
  regex: (re: string, message?: string, doc = `text ${re}`): ValueType =>
    t(`z.string().regex(${re}${message ? `, ${JSON.stringify(message)}` : ''})`, 'string', doc),
  literal: (value: string): ValueType => t(`z.literal('${value}')`, `'${value}'`, `"${value}"`),
  enum: (values: readonly string[]): ValueType =>
    t(`z.enum([${values.map((x) => `'${x}'`).join(', ')}])`, values.map((x) => `'${x}'`).join(' | '), values.map((x) => `"${x}"`).join(' \\| ')),
  union: (types: ValueType[], doc?: string): ValueType =>
    t(`z.union([${types.map((x) => x.zod).join(', ')}])`, types.map((x) => x.ts).join(' | '), doc ?? types.map((x) => x.doc).join(' or ')),
  array: (of: ValueType): ValueType => ({ zod: `z.array(${of.zod})`, ts: `${wrap(of.ts)}[]`, doc: `array of ${of.doc}`, fields: of.fields }),
  record: (key: ValueType, value: ValueType): ValueType => t(`z.record(${key.zod}, ${value.zod})`, `Record<${key.ts}, ${value.ts}>`, `object of ${value.doc}`),
  /** free-form: zod/ts only where the agent needs no more */
  raw: (zod: string, ts: string, doc: string): ValueType => t(zod, ts, doc),
  object: (fields: Field[], opts: { partial?: boolean; passthrough?: boolean; loose?: boolean } = {}): ValueType => ({
    zod: `z.object({ ${fields.map((f) => `${f.name}: ${f.type.zod}`).join(', ')} })${opts.partial ? '.partial()' : ''}${opts.passthrough ? '.passthrough()' : ''}${opts.loose ? '.loose()' : ''}`,
    ts: `{ ${fields.map((f) => `${f.name}${opts.partial || f.type.optional ? '?' : ''}: ${f.type.ts}`).join('; ')} }`,
    doc: 'object',
    fields,
  }),
};

const wrap = (ts: string) => (/[|&]/.test(ts) ? `(${ts})` : ts);

/** x or null or absent */
export const nullish = (x: ValueType): ValueType => ({ ...x, zod: `${x.zod}.nullish()`, ts: `${x.ts} | null`, doc: `${x.doc} \\| null`, optional: true });
/** x or null */
export const nullable = (x: ValueType): ValueType => ({ ...x, zod: `${x.zod}.nullable()`, ts: `${x.ts} | null`, doc: `${x.doc} \\| null` });
/** x or absent */
export const optional = (x: ValueType): ValueType => ({ ...x, zod: `${x.zod}.optional()`, doc: `${x.doc}, optional`, optional: true });
/** x, or `value` when absent */
export const withDefault = (x: ValueType, value: unknown): ValueType => ({
  ...x,
  zod: `${x.zod}.default(${JSON.stringify(value)})`,
  doc: `${x.doc}, default ${JSON.stringify(value)}`,
  optional: true,
});
/** absent from a result is fine, not part of the plan schema */
export const maybe = (x: ValueType): ValueType => ({ ...x, optional: true });

export const field = (name: string, type: ValueType, meaning: string, extra: { required?: boolean } = {}): Field => ({ name, type, meaning, ...extra });
