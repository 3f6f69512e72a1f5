// Start the real devsearch binary for a JavaScript test, on a free loopback
// port, against the test database scripts/test.sh prepared; stop it after.
import { spawn } from 'node:child_process';
import net from 'node:net';

/** A TCP port that was free a moment ago. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Serve with the given extra environment. Resolves to { base, port, stop, log }
 * once /api/health answers 200 (20 s at most). stop() sends SIGTERM and waits.
 */
export async function startServer(env = {}) {
  const bin = process.env.DEVSEARCH_BIN;
  if (!bin) throw new Error('DEVSEARCH_BIN is not set: run the tests with make test');
  const port = await freePort();
  let log = '';
  const child = spawn(bin, ['serve', '--port', String(port)], {
    env: { ...process.env, LOG_LEVEL: 'warn', LOGIN_THROTTLE_USERNAME: '1000', LOGIN_THROTTLE_IP: '100000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      const res = await fetch(`${base}/api/health`);
      if (res.status === 200) break;
    } catch { /* not up yet */ }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    port,
    log: () => log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A name unique to this run. */
export function unique(prefix) {
  return `${prefix}${process.pid}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
}

/** Register a user and log in; resolves to { username, access, refresh, profileId }. */
export async function account(base, prefix = 'js') {
  const username = unique(prefix);
  const password = 'Tr0ub4dor&3-horse';
  const json = { 'Content-Type': 'application/json' };
  const reg = await fetch(`${base}/api/users/register`, {
    method: 'POST', headers: json, body: JSON.stringify({ username, email: `${username}@example.com`, password }),
  });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const user = await reg.json();
  const tok = await fetch(`${base}/api/users/token`, {
    method: 'POST', headers: json, body: JSON.stringify({ username, password }),
  });
  const { access, refresh } = await tok.json();
  return { username, password, access, refresh, userId: user.id, profileId: user.profile.id };
}
