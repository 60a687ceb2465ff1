// The engine end to end against a real slapd, bound as the service account: every secret
// survives, the backup restores byte for byte, a registration racing the run is kept, and the
// entries it must not touch are refused with the DN and the reason.
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { equalityFilter, type DirectoryClient } from '../../src/directory/index.js';
import { InputError } from '../../src/errors.js';
import { selfSignedCert } from '../../src/lab/pki.js';
import { startSimulator } from '../../src/lab/sim/index.js';
import type { RunningSimulator } from '../../src/lab/sim/types.js';
import { keyMaterialFromPem, loadKeyMaterial, encryptValue } from '../../src/otp/index.js';
import { runRekey, runRestore, type RunProgress } from '../../src/rekey/index.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';
import { holdsUnder, rootClient, serviceConnect, snapshot } from './helpers.js';

let lab: TestDirectory;
let root: Client;
let sim: RunningSimulator;
const attribute = 'userParameters';
let backups = 0;
const newBackup = () => join(lab.dir, `backup-${++backups}.jsonl`);

beforeAll(async () => {
  lab = await startTestDirectory({ users: 60 });
  root = await rootClient(lab);
  const tls = selfSignedCert({ cn: 'localhost' });
  sim = await startSimulator({
    tls: { certPem: tls.certPem, keyPem: tls.keyPem },
    appliances: [
      {
        name: 'adc1',
        firmware: 'multi',
        username: 'nsroot',
        password: 'lab-nsroot-pw',
        preload: {
          files: [
            { name: 'otp-old.pem', content: lab.oldKey.certPem },
            { name: 'otp-old.key', content: lab.oldKey.keyPem },
            { name: 'otp-new.pem', content: lab.newKey.certPem },
            { name: 'otp-new.key', content: lab.newKey.keyPem },
          ],
          certkeys: [
            { certkey: 'otp-old', cert: 'otp-old.pem', key: 'otp-old.key' },
            { certkey: 'otp-new', cert: 'otp-new.pem', key: 'otp-new.key' },
          ],
          userDataEncryptionKeys: ['otp-old', 'otp-new'],
          otpEncryption: 'ON',
        },
      },
    ],
    directory: {
      url: lab.slapd.url,
      baseDN: lab.slapd.baseDN,
      bindDN: lab.slapd.serviceDN,
      bindPassword: lab.slapd.servicePassword,
      attribute,
      userNameAttribute: 'sAMAccountName',
    },
  });
});

afterAll(async () => {
  await root?.unbind().catch(() => undefined);
  await sim?.stop();
  await lab?.stop();
});

const base = () => ({ base: lab.slapd.usersDN, filter: '(objectClass=user)', attribute });
const rekeyJob = () => ({ kind: 'rekey' as const, from: [lab.oldKey], to: lab.newKey });
const encrypted = () => [
  ...lab.seed.users.filter((u) => u.kind === 'single' || u.kind === 'multi'),
  { ...lab.seed.canary, devices: [{ name: lab.seed.canary.deviceName, secret: lab.seed.canary.totpSecret }] },
];
const allSecrets = () => [...lab.seed.users.flatMap((u) => u.devices.map((d) => d.secret)), lab.seed.canary.totpSecret];

async function expectOriginal(): Promise<void> {
  const snap = await snapshot(lab);
  for (const u of lab.seed.users) expect(snap.get(u.dn.toLowerCase()) ?? []).toEqual(u.value === undefined ? [] : [u.value]);
  expect(snap.get(lab.seed.canary.dn.toLowerCase())).toEqual([lab.seed.canary.value]);
}

describe('rekey, again, restore', () => {
  let firstBackup = '';

  it('re-keys every device under the old certificate; every secret survives, device for device', async () => {
    const events: RunProgress[] = [];
    firstBackup = newBackup();
    const s = await runRekey({ ...base(), connect: serviceConnect(lab), job: rekeyJob(), backupFile: firstBackup, concurrency: 3, groupSize: 7, pageSize: 11, onProgress: (p) => events.push(p) });
    const want = encrypted();
    expect(s.failed).toEqual([]);
    expect(s.stopped).toBeUndefined();
    expect(s.changed).toBe(want.length);
    expect(s.unchanged).toBe(0);
    expect(s.skipped).toEqual({ 'legacy (not asked to encrypt)': lab.seed.counts.legacy, 'unreadable value': lab.seed.counts['broken-json'] + lab.seed.counts['bad-base64'] });
    expect(s.fetched).toBe(lab.seed.users.filter((u) => u.value !== undefined).length + 1);
    expect(s.devices.rekeyed).toBe(want.reduce((n, u) => n + u.devices.length, 0));
    const snap = await snapshot(lab);
    for (const u of want) expect(holdsUnder(snap.get(u.dn.toLowerCase())![0], u.devices, lab.newKey), u.dn).toBe(true);
    for (const u of lab.seed.users.filter((x) => x.kind === 'legacy' || x.kind === 'broken-json')) expect(snap.get(u.dn.toLowerCase())).toEqual([u.value]);
    expect(events.at(-1)).toMatchObject({ done: s.fetched, total: s.fetched, changed: s.changed, failed: 0 });
    expect(JSON.stringify(s)).not.toMatch(new RegExp(allSecrets().join('|')));
  });

  it('keeps the backup private: mode 0600, sealed, no secret and no original value in clear', () => {
    expect(statSync(firstBackup).mode & 0o777).toBe(0o600);
    const text = readFileSync(firstBackup, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'header', version: 1, attribute, sealedWith: lab.oldKey.kidText });
    const sealed = lines.filter((l) => l['type'] === 'originals').flatMap((l) => l['entries'] as { dn: string }[]);
    expect(sealed.map((e) => e.dn.toLowerCase()).sort()).toEqual(
      encrypted()
        .map((u) => u.dn.toLowerCase())
        .sort(),
    );
    for (const secret of allSecrets()) expect(text).not.toContain(secret);
    for (const u of encrypted()) {
      const value = 'value' in u ? u.value : undefined;
      if (value) expect(text).not.toContain(value.slice(30, 80));
    }
  });

  it('is idempotent: a second run changes nothing', async () => {
    const s = await runRekey({ ...base(), connect: serviceConnect(lab), job: rekeyJob(), backupFile: newBackup(), concurrency: 2 });
    expect(s.changed).toBe(0);
    expect(s.failed).toEqual([]);
    expect(s.unchanged).toBe(encrypted().length);
    expect(s.devices['already-target']).toBe(encrypted().reduce((n, u) => n + u.devices.length, 0));
  });

  it('restores every original value byte for byte from the backup and the old certificate', async () => {
    const s = await runRestore({ connect: serviceConnect(lab), backupFile: firstBackup, keys: [lab.oldKey] });
    expect(s.failed).toEqual([]);
    expect(s.changed).toBe(encrypted().length);
    expect(s.changedSince).toEqual([]);
    await expectOriginal();
  });

  it('refuses to open the backup without the certificate that sealed it', async () => {
    await expect(runRestore({ connect: serviceConnect(lab), backupFile: firstBackup, keys: [lab.newKey] })).rejects.toThrow(new RegExp(`KID ${lab.oldKey.kidText}`));
  });
});

describe('dry run and stopping', () => {
  it('a dry run writes nothing, keeps no backup, and says what would change', async () => {
    const file = newBackup();
    const s = await runRekey({ ...base(), connect: serviceConnect(lab, { dryRun: true }), job: rekeyJob(), backupFile: file });
    expect(s.dryRun).toBe(true);
    expect(s.changed).toBe(encrypted().length);
    expect(s.failed).toEqual([]);
    expect(existsSync(file)).toBe(false);
    await expectOriginal();
  });

  it('an abort finishes in-flight writes and stops; each value is the original or fully re-keyed', async () => {
    const ac = new AbortController();
    const file = newBackup();
    const s = await runRekey({
      ...base(),
      connect: serviceConnect(lab),
      job: rekeyJob(),
      backupFile: file,
      concurrency: 1,
      groupSize: 4,
      pageSize: 8,
      signal: ac.signal,
      onProgress: () => ac.abort(),
    });
    expect(s.stopped?.reason).toBe('aborted');
    expect(s.changed).toBeGreaterThan(0);
    expect(s.changed).toBeLessThan(encrypted().length);
    const snap = await snapshot(lab);
    let moved = 0;
    for (const u of encrypted()) {
      const v = snap.get(u.dn.toLowerCase())![0];
      const orig = 'value' in u ? u.value : undefined;
      if (v !== orig) {
        expect(holdsUnder(v, u.devices, lab.newKey)).toBe(true);
        moved++;
      }
    }
    expect(moved).toBe(s.changed);
    const r = await runRestore({ connect: serviceConnect(lab), backupFile: file, keys: [lab.oldKey] });
    expect(r.changed).toBe(s.changed);
    await expectOriginal();
  });
});

describe('a registration racing the run', () => {
  it('a device enrolled between our read and our write survives, with every old device', async () => {
    const user = lab.seed.users.find((u) => u.kind === 'single')!;
    const enrolled = { name: 'newphone', secret: 'KRSXG5CTMVRXEZLUKRSXG5CTMU' };
    let registered = 0;
    const connect = async (): Promise<DirectoryClient> => {
      const c = await serviceConnect(lab)();
      const modify = c.modify.bind(c);
      c.modify = async (dn, changes, codes) => {
        if (dn === user.dn && registered++ === 0) {
          // The user registers through the gateway after the engine read the old value.
          const res = await fetch(`${sim.appliances[0].gatewayHttpUrl}/manageotp/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user: user.sAMAccountName, password: user.password, deviceName: enrolled.name, secret: enrolled.secret }),
          });
          expect(res.status, await res.clone().text()).toBe(200);
        }
        return modify(dn, changes, codes);
      };
      return c;
    };
    const file = newBackup();
    const s = await runRekey({ ...base(), connect, job: rekeyJob(), backupFile: file, concurrency: 2 });
    expect(registered).toBeGreaterThan(1);
    expect(s.retried).toBeGreaterThanOrEqual(1);
    expect(s.failed).toEqual([]);
    expect(s.changed).toBe(encrypted().length);
    const snap = await snapshot(lab);
    expect(holdsUnder(snap.get(user.dn.toLowerCase())![0], [...user.devices, enrolled], lab.newKey)).toBe(true);
    // Undo for the tests below; the racing user's original (with the new device) comes back too.
    await runRestore({ connect: serviceConnect(lab), backupFile: file, keys: [lab.oldKey] });
    const after = (await snapshot(lab)).get(user.dn.toLowerCase())![0];
    expect(after).toContain(lab.newKey.kidText);
    await root.modify(user.dn, new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values: [user.value!] }) }));
    await expectOriginal();
  });
});

describe('refusals', () => {
  it('a new key that does not match its certificate is refused when loading', async () => {
    await expect(loadKeyMaterial({ cert: lab.newKey.certFile, key: lab.oldKey.keyFile })).rejects.toThrow(/does not match the certificate/);
  });

  it('an old certificate that decrypts nothing is a clear error, and nothing changes', async () => {
    const stranger = selfSignedCert({ cn: 'not the bound one' });
    const km = keyMaterialFromPem(stranger.certPem, stranger.keyPem);
    const file = newBackup();
    const err = await runRekey({ ...base(), connect: serviceConnect(lab), job: { kind: 'rekey', from: [km], to: lab.newKey }, backupFile: file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/matches none of the encrypted devices/);
    expect((err as Error).message).toContain(km.kidText);
    expect(existsSync(file)).toBe(false);
    await expectOriginal();
  });

  it('a multi-valued attribute is refused with the DN and never written', async () => {
    const u = lab.seed.users.find((x) => x.kind === 'single')!;
    const values = [encryptValue(u.devices, lab.oldKey), encryptValue(u.devices, lab.oldKey)];
    await root.modify(u.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values }) }));
    const s = await runRekey({
      base: lab.slapd.usersDN,
      filter: equalityFilter('sAMAccountName', u.sAMAccountName),
      attribute: 'description',
      connect: serviceConnect(lab),
      job: rekeyJob(),
      backupFile: newBackup(),
    });
    expect(s.changed).toBe(0);
    expect(s.failed).toEqual([{ dn: u.dn, reason: expect.stringMatching(/holds 2 values.*refused, not written/) }]);
    const { searchEntries } = await root.search(u.dn, { scope: 'base', attributes: ['description'] });
    expect([...(searchEntries[0]['description'] as string[])].sort()).toEqual([...values].sort());
  });

  it('an entry the service account cannot write fails with the DN and result 50; the error budget stops the run', async () => {
    const value = encryptValue([{ name: 'svc', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEH' }], lab.oldKey);
    await root.modify(lab.slapd.serviceDN, new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values: [value] }) }));
    try {
      const s = await runRekey({
        base: lab.slapd.baseDN,
        filter: '(objectClass=user)',
        attribute,
        connect: serviceConnect(lab),
        job: rekeyJob(),
        backupFile: newBackup(),
        maxFailures: 0,
        concurrency: 1,
        groupSize: 200,
      });
      const f = s.failed.find((x) => x.dn.toLowerCase() === lab.slapd.serviceDN.toLowerCase());
      expect(f?.reason).toMatch(/50 insufficientAccessRights/);
      expect(f?.reason).toContain(lab.slapd.serviceDN);
      expect(s.stopped?.reason).toBe('error-budget');
      const { searchEntries } = await root.search(lab.slapd.serviceDN, { scope: 'base', attributes: [attribute] });
      expect(searchEntries[0][attribute]).toBe(value);
    } finally {
      await root.modify(lab.slapd.serviceDN, new Change({ operation: 'delete', modification: new Attribute({ type: attribute, values: [] }) }));
    }
  });
});
