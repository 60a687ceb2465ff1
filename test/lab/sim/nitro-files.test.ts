import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../../src/lab/sim/index.js';
import { SSL_ARGS, labTls, login, nitro, upload } from './helpers.js';

let sim: RunningSimulator;
let base: string;
let token: string;

beforeAll(async () => {
  const tls = labTls();
  sim = await startSimulator({
    appliances: [{ name: 'adc1', firmware: 'multi', username: 'nsroot', password: 'nsroot-pass' }],
    tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
  });
  base = sim.appliances[0].nitroUrl;
  token = await login(base);
});
afterAll(async () => {
  await sim.stop();
});

describe('systemfile', () => {
  it('uploads, lists and reads back a file in /nsconfig/ssl', async () => {
    const up = await upload(base, token, 'hello.pem', 'hello, world\n');
    expect(up.status).toBe(201);
    expect(up.data.errorcode).toBe(0);
    const list = await nitro(base, 'GET', `systemfile?${SSL_ARGS}`, undefined, { token });
    expect(list.data.systemfile).toEqual([expect.objectContaining({ filename: 'hello.pem', filelocation: '/nsconfig/ssl', filesize: 13 })]);
    expect(JSON.stringify(list.data)).not.toContain('filecontent');
    const one = await nitro(base, 'GET', `systemfile?${SSL_ARGS},filename:hello.pem`, undefined, { token });
    const entry = (one.data.systemfile as { filecontent: string }[])[0];
    expect(Buffer.from(entry.filecontent, 'base64').toString()).toBe('hello, world\n');
  });

  it('never overwrites: 1642 (HTTP 409), content unchanged', async () => {
    await upload(base, token, 'once.pem', 'first');
    const again = await upload(base, token, 'once.pem', 'second');
    expect(again.status).toBe(409);
    expect(again.data.errorcode).toBe(1642);
    const one = await nitro(base, 'GET', `systemfile?${SSL_ARGS},filename:once.pem`, undefined, { token });
    expect(Buffer.from((one.data.systemfile as { filecontent: string }[])[0].filecontent, 'base64').toString()).toBe('first');
  });

  it('refuses a name over 63 characters, a name with a path, and a file over 2 MB (278)', async () => {
    expect((await upload(base, token, 'x'.repeat(64), 'a')).data.errorcode).toBe(278);
    expect((await upload(base, token, 'x'.repeat(63), 'a')).data.errorcode).toBe(0);
    expect((await upload(base, token, '../etc/passwd', 'a')).data.errorcode).toBe(278);
    expect((await upload(base, token, 'big.bin', Buffer.alloc(2 * 1024 * 1024 + 1))).data.errorcode).toBe(278);
    expect((await upload(base, token, 'max.bin', Buffer.alloc(2 * 1024 * 1024))).data.errorcode).toBe(0);
  });

  it('needs filelocation to list (278) and answers 258 for a missing file', async () => {
    expect((await nitro(base, 'GET', 'systemfile', undefined, { token })).data.errorcode).toBe(278);
    const missing = await nitro(base, 'GET', `systemfile?${SSL_ARGS},filename:nope.pem`, undefined, { token });
    expect(missing.status).toBe(404);
    expect(missing.data.errorcode).toBe(258);
  });

  it('deletes a file by name (258 when absent)', async () => {
    await upload(base, token, 'gone.pem', 'x');
    const del = await nitro(base, 'DELETE', `systemfile/gone.pem?${SSL_ARGS}`, undefined, { token });
    expect(del.data.errorcode).toBe(0);
    const again = await nitro(base, 'DELETE', `systemfile/gone.pem?${SSL_ARGS}`, undefined, { token });
    expect(again.data.errorcode).toBe(258);
    const list = await nitro(base, 'GET', `systemfile?${SSL_ARGS}`, undefined, { token });
    expect(JSON.stringify(list.data)).not.toContain('gone.pem');
  });

  it('keeps ":" and "," literal but decodes the values inside args', async () => {
    await upload(base, token, 'a b.pem', 'spaced');
    const one = await nitro(base, 'GET', `systemfile?${SSL_ARGS},filename:a%20b.pem`, undefined, { token });
    expect(one.data.errorcode).toBe(0);
    const count = await nitro(base, 'GET', `systemfile?${SSL_ARGS}&count=yes`, undefined, { token });
    expect((count.data.systemfile as { __count: number }[])[0].__count).toBeGreaterThan(2);
  });
});
