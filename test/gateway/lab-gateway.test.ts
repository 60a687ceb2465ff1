// The logon check against the lab: the ADC simulator's gateway binding users against a real
// slapd and verifying their TOTP with the certificate bound as userDataEncryptionKey.
// Checks run with minSecondsLeft 0 and a clock whose waits pass instantly: a code the check
// moves to the next step is still inside the gateway's ±1-step window, so no test waits 30 s.
import { createServer } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change, Client } from 'ldapts';
import { logonCheck, newAcceptedSteps, type LogonCheckOptions, type AcceptedSteps } from '../../src/gateway/index.js';
import { encryptValue, Keyring } from '../../src/otp/index.js';
import { generateCa, issueCert, type PemPair } from '../../src/lab/pki.js';
import { startSimulator, type RunningSimulator } from '../../src/lab/sim/index.js';
import { newTotpSecret, type SeededUser } from '../../src/lab/seed.js';
import { startTestDirectory, type TestDirectory, preloadOldKey } from '../helpers/directory.js';
import { fakeClock } from './clock.js';

let dir: TestDirectory;
let sim: RunningSimulator;
let ca: PemPair;
let server: PemPair;
let gatewayUrl: string;
let gatewayHttpUrl: string;
/** A user whose device is encrypted under the new key, which no appliance has bound yet. */
let stranger: { user: SeededUser; secret: string; value: string };

beforeAll(async () => {
  dir = await startTestDirectory({ users: 3 });
  ca = generateCa('gateway test CA');
  server = issueCert(ca, { cn: 'localhost', sans: ['localhost', '127.0.0.1'] });
  const { slapd, oldKey } = dir;
  sim = await startSimulator({
    appliances: [
      {
        name: 'adc1',
        firmware: 'multi',
        username: 'nsroot',
        password: 'nsroot-pass',
        preload: preloadOldKey(oldKey),
      },
    ],
    tls: server,
    directory: {
      url: slapd.url,
      baseDN: slapd.baseDN,
      bindDN: slapd.serviceDN,
      bindPassword: slapd.servicePassword,
      attribute: slapd.attribute,
      userNameAttribute: 'sAMAccountName',
    },
  });
  gatewayUrl = sim.appliances[0].gatewayUrl;
  gatewayHttpUrl = sim.appliances[0].gatewayHttpUrl;

  const user = dir.seed.users[1];
  const secret = newTotpSecret();
  const value = encryptValue([{ name: 'phone', secret }], dir.newKey);
  const ldap = new Client({ url: slapd.url });
  try {
    await ldap.bind(slapd.serviceDN, slapd.servicePassword);
    await ldap.modify(user.dn, [new Change({ operation: 'replace', modification: new Attribute({ type: slapd.attribute, values: [value] }) })]);
  } finally {
    await ldap.unbind();
  }
  stranger = { user, secret, value };
});

afterAll(async () => {
  await sim?.stop();
  await dir?.stop();
});

const canary = () => dir.seed.canary;

function check(extra: Partial<LogonCheckOptions> & Pick<LogonCheckOptions, 'passcode'>) {
  return logonCheck({
    gatewayUrl,
    user: canary().sAMAccountName,
    password: canary().password,
    tls: { caPem: ca.certPem },
    clock: fakeClock(),
    minSecondsLeft: 0,
    ...extra,
  });
}

describe('logon check against the lab gateway', () => {
  it('logs the canary on through nFactor with the code read from its directory value, then off', async () => {
    const r = await check({ flow: 'auto', passcode: { kind: 'directory', value: canary().value, keyring: new Keyring([dir.oldKey]) } });
    expect(r).toMatchObject({ outcome: 'ok', flow: 'nfactor', gatewayUrl, kid: dir.oldKey.kidText, loggedOff: true, warnings: [] });
    expect(r.message).toMatch(/logged on through nFactor and logged off again/);
  });

  it('logs the canary on through the classic page', async () => {
    const r = await check({ flow: 'classic', passcode: { kind: 'secret', secret: canary().totpSecret } });
    expect(r).toMatchObject({ outcome: 'ok', flow: 'classic', loggedOff: true });
  });

  it('reports a wrong password as wrong-password, without the password in the result', async () => {
    const r = await check({ password: 'Not-The-Password-1', passcode: { kind: 'secret', secret: canary().totpSecret } });
    expect(r).toMatchObject({ outcome: 'wrong-password', flow: 'nfactor' });
    expect(r.message).toMatch(/Incorrect user name or password/);
    expect(JSON.stringify(r)).not.toContain('Not-The-Password-1');
  });

  it('reports a code from another secret as wrong-passcode', async () => {
    const r = await check({ passcode: { kind: 'secret', secret: newTotpSecret() } });
    expect(r).toMatchObject({ outcome: 'wrong-passcode', flow: 'nfactor' });
    expect(r.message).toMatch(/Incorrect passcode/);
  });

  it('a user whose device is under a KID that is not bound: the gateway refuses the right code', async () => {
    const r = await check({ user: stranger.user.sAMAccountName, password: stranger.user.password, passcode: { kind: 'secret', secret: stranger.secret } });
    expect(r.outcome).toBe('wrong-passcode');
  });

  it('a user whose device is under a KID that is not bound: reading with the keys in force fails before any request', async () => {
    const r = await check({
      gatewayUrl: 'https://127.0.0.1:9',
      user: stranger.user.sAMAccountName,
      password: stranger.user.password,
      passcode: { kind: 'directory', value: stranger.value, keyring: new Keyring([dir.oldKey]) },
    });
    expect(r.outcome).toBe('secret-unreadable');
    expect(r.message).toContain(dir.newKey.kidText);
    expect(r.message).not.toContain(stranger.secret);
  });

  it('reports a closed port as unreachable', async () => {
    const port = await closedPort();
    const r = await check({ gatewayUrl: `https://127.0.0.1:${port}`, passcode: { kind: 'secret', secret: canary().totpSecret } });
    expect(r).toMatchObject({ outcome: 'unreachable', gatewayUrl: `https://127.0.0.1:${port}` });
    expect(r.message).toMatch(/ECONNREFUSED/);
  });

  it('reports a certificate from another CA, or another pin, as tls-failure', async () => {
    const other = generateCa('someone else');
    const byCa = await check({ tls: { caPem: other.certPem }, passcode: { kind: 'secret', secret: canary().totpSecret } });
    expect(byCa.outcome).toBe('tls-failure');
    const byPin = await check({ tls: { fingerprintSha256: '00'.repeat(32) }, passcode: { kind: 'secret', secret: canary().totpSecret } });
    expect(byPin.outcome).toBe('tls-failure');
    expect(byPin.message).toMatch(/fingerprint/);
  });

  it('never sends a code the gateway already accepted: it waits for the next step instead', async () => {
    const user = dir.seed.users[0];
    const secret = user.devices[0].secret;
    const accepted: AcceptedSteps = newAcceptedSteps();
    const clock = fakeClock();
    const notes: string[] = [];
    const pin = new X509Certificate(server.certPem).fingerprint256;
    const run = (steps: AcceptedSteps, c = clock) =>
      logonCheck({
        gatewayUrl,
        user: user.sAMAccountName,
        password: user.password,
        passcode: { kind: 'secret', secret },
        tls: { fingerprintSha256: pin },
        clock: c,
        minSecondsLeft: 0,
        acceptedSteps: steps,
        onNote: (n) => notes.push(n),
      });
    expect((await run(accepted)).outcome).toBe('ok');
    expect(clock.sleeps).toEqual([]);
    const second = await run(accepted);
    expect(second.outcome).toBe('ok');
    expect(clock.sleeps).toHaveLength(1);
    expect(notes.join('\n')).toMatch(/already accepted this step's code/);
    // Control: forgetting what was accepted sends the real step's code again, and the gateway refuses it.
    const forgetful = await run(newAcceptedSteps(), fakeClock());
    expect(forgetful.outcome).toBe('wrong-passcode');
  });

  it('works over plain HTTP too (a lab or an internal vserver)', async () => {
    const r = await check({ gatewayUrl: gatewayHttpUrl, password: 'wrong', passcode: { kind: 'secret', secret: canary().totpSecret } });
    expect(r).toMatchObject({ outcome: 'wrong-password', gatewayUrl: gatewayHttpUrl });
  });
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
