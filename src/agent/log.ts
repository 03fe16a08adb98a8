// One timestamped line per event on stderr: journald and test logs read it as is.
export type Level = 'info' | 'warn' | 'error';
export type Logger = (level: Level, message: string) => void;

export const stderrLogger: Logger = (level, message) => {
  process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message.replace(/\s*\n\s*/g, ' | ')}\n`);
};

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
