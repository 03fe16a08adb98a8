// postgresql.conf lines for servers the agent starts (restored copies) and
// the tools' throwaway clusters.
export type Settings = Record<string, string | number | boolean>;

// GUC values may always be quoted; quoting everything avoids guessing which
// values (units, lists, paths) need it.
export function confLine(key: string, value: string | number | boolean): string {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(key)) throw new Error(`invalid setting name: ${JSON.stringify(key)}`);
  const text = typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value);
  if (/[\r\n]/.test(text)) throw new Error(`setting ${key}: value must not contain a line break`);
  return `${key} = '${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export function confBlock(settings: Settings, comment: string): string {
  const lines = Object.entries(settings).map(([k, v]) => confLine(k, v));
  return `\n# ${comment}\n${lines.join('\n')}\n`;
}
