// Start and stop the S3 server of s3rver-main.ts on loopback, for the tests
// (test/s3/) and the object-storage benchmark. The server's credentials are
// s3rver's fixed pair, handed to the SDK through the standard AWS variables.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const S3RVER_KEY_ID = 'S3RVER';
export const S3RVER_SECRET = 'S3RVER';

export interface S3Server {
  readonly port: number;
  /** The server process (for its CPU time in the benchmark). */
  readonly pid: number | undefined;
  readonly endpoint: string;
  readonly dir: string;
  /** SIGKILL: the server dies mid-request, as on a crash. */
  kill(): Promise<void>;
  /** Start again on the same port and directory (after kill or stop). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function launch(dir: string, port: number, buckets: string[]): Promise<{ child: ChildProcess; port: number }> {
  // Compiled (dist/bench) or run from source by the tests (tsx).
  const main = fileURLToPath(new URL(`./s3rver-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
  const loader = main.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...loader, main, dir, String(port), ...buckets], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Nothing of the test's environment (AWS variables included) reaches the server.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`s3rver did not start within 30 s: ${stderr.trim()}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`s3rver exited with ${code}: ${stderr.trim()}`));
    });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      res({ child, port: (JSON.parse(line) as { port: number }).port });
    });
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => child.once('exit', () => res()));
}

export async function startS3Server(buckets: string[]): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), 'bm-s3rver-'));
  let { child, port } = await launch(dir, 0, buckets);
  const kill = async () => {
    child.kill('SIGKILL');
    await waitExit(child);
  };
  return {
    get port() {
      return port;
    },
    get pid() {
      return child.pid;
    },
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    dir,
    kill,
    async restart() {
      await kill();
      // The port was ours a moment ago; buckets already exist on disk.
      ({ child, port } = await launch(dir, port, []));
    },
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The standard AWS settings that point the SDK at `server` and nowhere else (for the environment or an env file). */
export function s3Settings(server: S3Server): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: server.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3RVER_KEY_ID,
    AWS_SECRET_ACCESS_KEY: S3RVER_SECRET,
    // Never fall through to ~/.aws or the instance-metadata address.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  };
}

/** Point the AWS SDK at the server through the standard environment, as an operator would. */
export function useS3Environment(server: S3Server): void {
  Object.assign(process.env, s3Settings(server));
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_ENDPOINT_URL;
}
