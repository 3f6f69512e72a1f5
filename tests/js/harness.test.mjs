// The JavaScript harness itself: the real server starts, answers, and stops cleanly.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer, account } from './lib/server.mjs';

test('the server starts for JavaScript tests and registers a user', async () => {
  const server = await startServer();
  try {
    const res = await fetch(`${server.base}/api/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok', database: 'ok' });
    const a = await account(server.base);
    const me = await fetch(`${server.base}/api/users/me`, { headers: { Authorization: `Bearer ${a.access}` } });
    assert.equal((await me.json()).username, a.username);
  } finally {
    await server.stop();
  }
});
