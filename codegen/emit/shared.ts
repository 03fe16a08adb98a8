// Naming helpers shared by the emitters, so every output spells names the same way.
import type { Hub, Model, Satellite } from '../types.js';

export const GENERATED_BY = 'by codegen/generate.ts from codegen/model.ts';
export const sqlHeader = (what: string) => `-- @generated ${GENERATED_BY} -- do not edit.\n-- ${what}\n`;
export const tsHeader = (what: string) => `// @generated ${GENERATED_BY} -- do not edit.\n// ${what}\n`;

export const q = (schema: string, name: string) => `${schema}.${name}`;
export const hkOf = (hub: Hub) => `${hub.key}_hk`;
export const bkOf = (hub: Hub) => `${hub.key}_bk`;
export const hubOf = (model: Model, sat: Satellite): Hub => {
  const hub = model.hubs.find((h) => h.name === sat.hub);
  if (!hub) throw new Error(`satellite ${sat.name}: unknown hub ${sat.hub}`);
  return hub;
};
export const loaderName = (sat: Satellite) => `${sat.name}_load`;
export const pascal = (s: string) => s.replace(/(^|_)([a-z0-9])/g, (_m, _u, c: string) => c.toUpperCase());
export const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
export const sqlArray = (items: string[]) => `ARRAY[${items.map(sqlString).join(', ')}]::text[]`;
