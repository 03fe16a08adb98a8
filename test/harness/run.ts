// Running a program in a test: exit code and output, never a throw for a
// non-zero exit. One definition for the CLI runs (e2e/support.ts runCli) and
// the other programs the suites start.
import { spawn } from 'node:child_process';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `cmd args` in `cwd` with process.env plus `env`, optionally as another OS user. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, user?: { uid: number; gid: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, ...user });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
