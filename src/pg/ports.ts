// Free TCP ports on 127.0.0.1 for servers this process starts (a restored
// copy, a throwaway cluster).
import { createServer } from 'node:net';

// Ports handed out by this process; the OS only knows about bound sockets,
// and a stopped server of ours still owns its port.
const portsInUse = new Set<number>();

function freePortCandidate(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A free TCP port on 127.0.0.1 that this process has not handed out yet. */
export async function allocatePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePortCandidate();
    if (port && !portsInUse.has(port)) {
      portsInUse.add(port);
      return port;
    }
  }
  throw new Error('could not find a free TCP port on 127.0.0.1');
}

/** Give a port from allocatePort() back once its server is gone. */
export function releasePort(port: number): void {
  portsInUse.delete(port);
}
