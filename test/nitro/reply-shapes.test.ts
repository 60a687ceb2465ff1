// The client against replies in every documented shape, and a refusal (exit 2, nothing sent but
// reads) on a shape no source documents. A small fake NITRO over real HTTP answers each read with
// the body a test gives, and records every request that reached it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors.js';
import { getNsConfig } from '../../src/nitro/config.js';
import { NitroReplyShapeError } from '../../src/nitro/reply-shape.js';
import { bindUserDataEncryptionKey, detectMultiBinding, listUserDataEncryptionKeys, readVpnGlobalBindings } from '../../src/nitro/otp-binding.js';
import { getOtpParameters, setOtpEncryption } from '../../src/nitro/otp-parameters.js';
import { getCertkey, listCertkeys } from '../../src/nitro/sslcertkey.js';
import { listSystemFiles, readSystemFile } from '../../src/nitro/systemfile.js';
import { readFirmwareVersion } from '../../src/nitro/version.js';
import type { NitroClient } from '../../src/nitro/client.js';
import { httpClient } from './helpers.js';

const SECRETISH = 'ZZ-value-that-must-not-be-printed-ZZ';

interface Seen {
  method: string;
  url: string;
}

let server: http.Server;
let url: string;
const seen: Seen[] = [];
/** Reply body per resource (the part of the path after /config/, without the query). */
const replies = new Map<string, Record<string, unknown>>();
const clients: NitroClient[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method ?? 'GET', url: req.url ?? '' });
      const path = (req.url ?? '').split('?')[0].replace('/nitro/v1/config/', '');
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (path === 'login') return send(201, { errorcode: 0, message: 'Done', sessionid: 'tok' }, { 'Set-Cookie': 'NITRO_AUTH_TOKEN=tok; path=/nitro/v1' });
      if (req.method !== 'GET') return send(200, { errorcode: 0, message: 'Done' });
      const body = replies.get(path);
      if (!body) return send(404, { errorcode: 258, message: 'No such resource', severity: 'ERROR' });
      return send(200, { errorcode: 0, message: 'Done', severity: 'NONE', ...body });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  replies.clear();
  seen.length = 0;
});

afterAll(async () => {
  for (const c of clients) c.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function client(): NitroClient {
  const c = httpClient([url], { retry: { attempts: 1 } });
  clients.push(c);
  return c;
}

const writes = () => seen.filter((s) => s.method !== 'GET' && !s.url.endsWith('/config/login'));

async function refusal(p: Promise<unknown>): Promise<NitroReplyShapeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NitroReplyShapeError);
  const e = err as NitroReplyShapeError;
  expect(e.exitCode).toBe(EXIT.invalidInput);
  expect(e.message).not.toContain(SECRETISH);
  return e;
}

const BINDING = 'vpnglobal_sslcertkey_binding';

describe('vpnglobal_sslcertkey_binding rows', () => {
  it('reads every documented row shape: userdataencryptionkey, certkeyname, cacert, and certkeyname with userdataencryptionkey', async () => {
    replies.set(BINDING, {
      [BINDING]: [
        { userdataencryptionkey: 'otp-old' },
        { certkeyname: 'token-signing', crlcheck: 'Optional' },
        { cacert: 'corp-ca', ocspcheck: 'Mandatory' },
        { certkeyname: 'tf-bound', userdataencryptionkey: 'otp-new', gotopriorityexpression: 'END' },
      ],
    });
    const b = await readVpnGlobalBindings(client());
    expect(b).toEqual({ userDataKeys: ['otp-old', 'otp-new'], serverCerts: ['token-signing', 'tf-bound'], caCerts: ['corp-ca'] });
  });

  it('a single object instead of a list, and no resource key at all, are documented too', async () => {
    replies.set(BINDING, { [BINDING]: { userdataencryptionkey: 'otp-old' } });
    expect(await listUserDataEncryptionKeys(client())).toEqual(['otp-old']);
    replies.set(BINDING, {});
    expect(await listUserDataEncryptionKeys(client())).toEqual([]);
  });

  it('refuses a row with none of the known fields, naming fields and types but no value, before any write', async () => {
    replies.set(BINDING, { [BINDING]: [{ userdataencryptionkey: 'otp-old' }, { encryptionkey: SECRETISH, priority: 3 }] });
    const c = client();
    const e = await refusal(bindUserDataEncryptionKey(c, 'otp-new'));
    expect(e.message).toMatch(/none of userdataencryptionkey, certkeyname, cacert/);
    expect(e.message).toMatch(/encryptionkey: string, priority: number/);
    await refusal(detectMultiBinding(c, 'otp-new'));
    await refusal(setOtpEncryption(c, 'ON'));
    expect(writes()).toEqual([]);
  });

  it('refuses a known field of the wrong type, and a list that is not of objects', async () => {
    replies.set(BINDING, { [BINDING]: [{ userdataencryptionkey: ['otp-old'] }] });
    expect((await refusal(listUserDataEncryptionKeys(client()))).message).toMatch(/userdataencryptionkey is a list, not a string/);
    replies.set(BINDING, { [BINDING]: ['otp-old'] });
    expect((await refusal(listUserDataEncryptionKeys(client()))).message).toMatch(/not a list of objects/);
    replies.set(BINDING, { [BINDING]: SECRETISH });
    await refusal(listUserDataEncryptionKeys(client()));
  });
});

describe('the other reads decisions stand on', () => {
  it('nsconfig: the documented systemtypes and configchanged spellings; anything else is refused', async () => {
    for (const [systemtype, configchanged, expected] of [
      ['Stand-alone', false, false],
      ['HA', 'true', true],
      ['Cluster', 'NO', false],
    ] as const) {
      replies.set('nsconfig', { nsconfig: { systemtype, configchanged, ipaddress: '192.0.2.1' } });
      expect(await getNsConfig(client())).toMatchObject({ systemtype, configchanged: expected });
    }
    replies.set('nsconfig', { nsconfig: { systemtype: 'Standalone-ish' } });
    expect((await refusal(getNsConfig(client()))).message).toMatch(/systemtype/);
    replies.set('nsconfig', { nsconfig: { ipaddress: '192.0.2.1' } });
    await refusal(getNsConfig(client()));
    replies.set('nsconfig', { nsconfig: { systemtype: 'HA', configchanged: 'maybe' } });
    await refusal(getNsConfig(client()));
    replies.set('nsconfig', { nsconfig: [] });
    await refusal(getNsConfig(client()));
  });

  it('hanode: rows need a whole-number id (number or digits); the primary choice refuses otherwise', async () => {
    replies.set('nsconfig', { nsconfig: { systemtype: 'HA' } });
    replies.set('hanode', {
      hanode: [
        { id: '0', state: 'Primary', hastatus: 'ENABLED', hasync: 'ENABLED' },
        { id: 1, state: 'Secondary', hastatus: 'STAYSECONDARY', hasync: 'DISABLED' },
      ],
    });
    const t = await client().resolveTarget();
    expect([t.mode, t.peerState, t.peerSync]).toEqual(['ha', 'Secondary', 'DISABLED']);
    replies.set('hanode', { hanode: [{ state: 'Primary' }] });
    await refusal(client().resolveTarget());
    replies.set('hanode', { hanode: [{ id: 0, state: { value: 'Primary' } }] });
    await refusal(client().resolveTarget());
  });

  it('sslcertkey: a row needs its certkey name; a GET by name must answer that name; typed fields are checked', async () => {
    replies.set('sslcertkey/otp', { sslcertkey: [{ certkey: 'otp', serial: '0A', publickeysize: '2048', daystoexpiration: 30 }] });
    expect((await getCertkey(client(), 'otp'))?.publicKeySize).toBe(2048);
    replies.set('sslcertkey/otp', { sslcertkey: [{ certkey: 'other' }] });
    await refusal(getCertkey(client(), 'otp'));
    replies.set('sslcertkey', { sslcertkey: [{ cert: 'x.pem' }] });
    await refusal(listCertkeys(client()));
    replies.set('sslcertkey', { sslcertkey: [{ certkey: 'a', serial: 10 }] });
    await refusal(listCertkeys(client()));
  });

  it('systemfile: rows need a filename; a file read needs its content', async () => {
    replies.set('systemfile', { systemfile: [{ filename: 'a.pem', filesize: '12' }] });
    expect(await listSystemFiles(client())).toMatchObject([{ filename: 'a.pem', filesize: 12 }]);
    replies.set('systemfile', { systemfile: [{ filesize: 12 }] });
    await refusal(listSystemFiles(client()));
    replies.set('systemfile', { systemfile: [{ filename: 'k.pem', fileencoding: 'BASE64' }] });
    const e = await refusal(readSystemFile(client(), 'k.pem'));
    expect(e.message).toMatch(/filecontent/);
  });

  it('aaaotpparameter: ON/OFF and a number, defaults when absent; any other value is refused', async () => {
    replies.set('aaaotpparameter', { aaaotpparameter: { encryption: 'on', maxotpdevices: '6' } });
    expect(await getOtpParameters(client())).toEqual({ encryption: 'ON', maxotpdevices: 6 });
    replies.set('aaaotpparameter', {});
    expect(await getOtpParameters(client())).toEqual({ encryption: 'OFF', maxotpdevices: 4 });
    replies.set('aaaotpparameter', { aaaotpparameter: { encryption: 'ENABLED' } });
    await refusal(getOtpParameters(client()));
    replies.set('aaaotpparameter', { aaaotpparameter: [{ encryption: 'ON' }, { encryption: 'OFF' }] });
    await refusal(getOtpParameters(client()));
  });

  it('nsversion is informational: read when it can be, "unknown" (never a refusal) when not', async () => {
    replies.set('nsversion', { nsversion: { version: 'NetScaler NS14.1: Build 25.56.nc, Date: Jun 28 2024', mode: '1' } });
    expect(await readFirmwareVersion(client())).toMatchObject({ ok: true, version: { release: '14.1', build: '25.56' } });
    replies.set('nsversion', { nsversion: { text: 'x' } });
    expect(await readFirmwareVersion(client())).toMatchObject({ ok: false, why: expect.stringMatching(/text: string/) });
    replies.set('nsversion', { nsversion: 'NS14.1' });
    expect(await readFirmwareVersion(client())).toMatchObject({ ok: false, why: expect.stringMatching(/reply not understood: "nsversion" is not a list of objects/) });
    replies.delete('nsversion');
    expect(await readFirmwareVersion(client())).toMatchObject({ ok: false, why: expect.stringMatching(/258/) });
  });
});
