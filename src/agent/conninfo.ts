// Turning DATABASE_URL into arguments for PostgreSQL's command-line tools.
// The password goes into the child's PGPASSWORD, never onto a command line
// that `ps` shows to every user of the host.

export type ConnParams = Record<string, string>;

/**
 * Startup options of every connection the agent opens: search_path pinned in
 * the startup packet wins over any `ALTER DATABASE/ROLE … SET search_path`,
 * so no object planted in another schema is ever resolved. The agent's
 * queries name pg_catalog's and backup_mgmt's objects besides.
 */
export const PINNED_OPTIONS = '-c search_path=pg_catalog,pg_temp';

// Parameters the agent's pool uses but a replication connection must not
// inherit (pg_basebackup connects with replication=true by itself).
const DROPPED = new Set(['password', 'replication', 'dbname']);

// libpq allows an empty host in a URI (postgresql://postgres@/db?host=/run/sock);
// WHATWG's URL does not, so such a URI is parsed with a stand-in host that is dropped.
const EMPTY_HOST = /^(postgres(?:ql)?:\/\/(?:[^/?#@]*@)?)(?=[/?#]|$)/;
const STAND_IN = 'empty-host.invalid';

/** postgresql://user:pw@host:port/db?sslmode=require → libpq keywords. */
function parseUrl(url: string): ConnParams {
  const noHost = EMPTY_HOST.test(url);
  let u: URL;
  try {
    u = new URL(noHost ? url.replace(EMPTY_HOST, `$1${STAND_IN}`) : url);
  } catch {
    throw new Error('not a connection URI libpq accepts (postgresql://user@host:port/dbname, postgresql://user@/dbname?host=/socket/dir)');
  }
  const out: ConnParams = {};
  // `new URL` keeps brackets around IPv6 hosts; libpq wants them bare.
  if (u.hostname && !noHost) out.host = decodeURIComponent(u.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (u.port) out.port = u.port;
  if (u.username) out.user = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (db) out.dbname = db;
  for (const [k, v] of u.searchParams) out[k] = v;
  return out;
}

/** `host=h port=5432 password='a b'` (libpq's key=value syntax, with quotes and backslashes). */
function parseKeywords(conninfo: string): ConnParams {
  const out: ConnParams = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('((?:[^'\\]|\\.)*)'|((?:[^\s'\\]|\\.)*))/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(conninfo)) !== null) {
    const raw = m[3] ?? m[4] ?? '';
    out[m[1]!] = raw.replace(/\\(.)/g, '$1');
    last = re.lastIndex;
  }
  if (conninfo.slice(last).trim() !== '') throw new Error('could not parse the connection string');
  return out;
}

export function parseConnectionString(s: string): ConnParams {
  return /^postgres(ql)?:\/\//.test(s) ? parseUrl(s) : parseKeywords(s);
}

function quoteValue(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface ToolConnection {
  /** -h/-p/-U plus -d for whatever else (sslmode, …); never the password. */
  args: string[];
  /** PGPASSWORD when the URL carried one; merged over the agent's env. */
  env: NodeJS.ProcessEnv;
}

/** Command-line connection options for pg_basebackup and friends. */
export function toolConnection(databaseUrl: string, applicationName: string): ToolConnection {
  const p = parseConnectionString(databaseUrl);
  const args: string[] = [];
  if (p.host) args.push('-h', p.host);
  if (p.port) args.push('-p', p.port);
  if (p.user) args.push('-U', p.user);
  const rest = Object.entries(p).filter(([k]) => !DROPPED.has(k) && k !== 'host' && k !== 'port' && k !== 'user');
  if (!rest.some(([k]) => k === 'application_name')) rest.push(['application_name', applicationName]);
  args.push('-d', rest.map(([k, v]) => `${k}=${quoteValue(v)}`).join(' '));
  // The agent's own PGPASSWORD (if any) applies when the URL has none.
  return { args, env: p.password !== undefined ? { PGPASSWORD: p.password } : {} };
}

/** Whether the server runs on this machine, so the agent's core count is the server's. */
export function isLocalHost(databaseUrl: string): boolean {
  const host = parseConnectionString(databaseUrl).host ?? process.env.PGHOST ?? '';
  // No host, or a socket directory: a Unix-domain socket, necessarily local.
  if (host === '' || host.startsWith('/') || host.startsWith('@')) return true;
  return host.split(',').every((h) => /^(localhost|127(\.\d{1,3}){3}|::1)$/i.test(h.trim()));
}
