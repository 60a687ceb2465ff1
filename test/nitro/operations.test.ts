import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearFaults, injectFault, labState, type RunningSimulator } from '../../src/lab/sim/index.js';
import type { NitroClient } from '../../src/nitro/client.js';
import { getNsConfig, saveConfig } from '../../src/nitro/config.js';
import { NitroError } from '../../src/nitro/errors.js';
import { bindUserDataEncryptionKey, detectMultiBinding, listUserDataEncryptionKeys, oneKeyRefusalNames, unbindUserDataEncryptionKey } from '../../src/nitro/otp-binding.js';
import { getOtpParameters, setOtpEncryption } from '../../src/nitro/otp-parameters.js';
import { CertkeyMismatchError, certFactsFromCert, compareCertkey, deleteCertkey, ensureCertkey, getCertkey, namesInMessage } from '../../src/nitro/sslcertkey.js';
import { deleteCreatedFiles, listSystemFiles, readSystemFile, uploadSystemFile } from '../../src/nitro/systemfile.js';
import { NitroFileTransport } from '../../src/transfer/nitro-transport.js';
import { FileExistsError } from '../../src/transfer/transport.js';
import { uploadUnique } from '../../src/transfer/upload.js';
import { appliance, httpClient, otpCert, startSim } from './helpers.js';

const OLD = otpCert('otp-old');
const NEW = otpCert('otp-new');

let sim: RunningSimulator;
let c: NitroClient;
let ctl: string;

beforeAll(async () => {
  sim = await startSim([
    appliance('adc1', {
      preload: {
        files: [
          { name: 'old.pem', content: OLD.certPem },
          { name: 'old.key', content: OLD.keyPem },
        ],
        certkeys: [{ certkey: 'otp-old', cert: 'old.pem', key: 'old.key' }],
        userDataEncryptionKeys: ['otp-old'],
      },
    }),
    appliance('adc-single', {
      firmware: 'single',
      preload: {
        files: [
          { name: 'old.pem', content: OLD.certPem },
          { name: 'old.key', content: OLD.keyPem },
          { name: 'new.pem', content: NEW.certPem },
          { name: 'new.key', content: NEW.keyPem },
        ],
        certkeys: [
          { certkey: 'otp-old', cert: 'old.pem', key: 'old.key' },
          { certkey: 'otp-new', cert: 'new.pem', key: 'new.key' },
        ],
        userDataEncryptionKeys: ['otp-old'],
      },
    }),
  ]);
  c = httpClient([sim.appliances[0].nitroUrl]);
  ctl = sim.appliances[0].controlUrl!;
});

afterAll(async () => {
  await c?.logout();
  c?.close();
  await sim?.stop();
});

const when = new Date('2026-11-23T10:15:00Z');

async function uploadPair(prefix: string, pair: { certPem: string; keyPem: string }): Promise<{ cert: string; key: string }> {
  const t = new NitroFileTransport(c);
  const cert = (await uploadUnique(t, { prefix, ext: 'pem', bytes: Buffer.from(pair.certPem), when })).name;
  const key = (await uploadUnique(t, { prefix, ext: 'key', bytes: Buffer.from(pair.keyPem), when })).name;
  return { cert, key };
}

describe('systemfile', () => {
  it('uploads, reads back the same bytes, lists and deletes only the given files', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13]);
    await uploadSystemFile(c, 'bin-1.der', bytes);
    expect((await readSystemFile(c, 'bin-1.der'))!.equals(bytes)).toBe(true);
    expect((await listSystemFiles(c)).map((f) => f.filename)).toContain('bin-1.der');
    expect(await deleteCreatedFiles(c, ['bin-1.der', 'gone.pem'])).toEqual({ deleted: ['bin-1.der'], absent: ['gone.pem'] });
    expect((await listSystemFiles(c)).map((f) => f.filename)).toEqual(expect.arrayContaining(['old.pem', 'old.key']));
  });

  it('never overwrites: 1642 becomes FileExistsError and uploadUnique picks the next name', async () => {
    const t = new NitroFileTransport(c);
    const err = await t.upload('old.pem', Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileExistsError);
    expect((await readSystemFile(c, 'old.pem'))!.toString()).toBe(OLD.certPem);
    await uploadSystemFile(c, 'otp-x-20261123T101500Z.pem', Buffer.from('taken'));
    const up = await uploadUnique(t, { prefix: 'otp-x', ext: 'pem', bytes: Buffer.from('mine'), when });
    expect(up.name).toBe('otp-x-20261123T101500Z-2.pem');
  });

  it('1642 from the appliance (a race after the existence check) also moves to the next name', async () => {
    const t = new NitroFileTransport(c);
    await injectFault(ctl, { on: 'POST systemfile', errorcode: 1642 });
    const up = await uploadUnique(t, { prefix: 'race', ext: 'pem', bytes: Buffer.from('r'), when });
    expect(up.name).toBe('race-20261123T101500Z-2.pem');
  });

  it('an upload whose reply was lost is settled by reading the file back', async () => {
    const t = new NitroFileTransport(c);
    await injectFault(ctl, { on: 'POST systemfile', drop: true });
    const up = await uploadUnique(t, { prefix: 'lost', ext: 'pem', bytes: Buffer.from('payload'), when });
    expect(up.name).toBe('lost-20261123T101500Z.pem');
    expect((await readSystemFile(c, up.name))!.toString()).toBe('payload');
  });

  it('refuses names with a path before sending anything', async () => {
    await expect(uploadSystemFile(c, '../etc/x', Buffer.from('x'))).rejects.toThrow(/no path/);
  });
});

describe('sslcertkey', () => {
  it('adds a PEM certkey, reads it back and matches the local certificate', async () => {
    const files = await uploadPair('otp-new', NEW);
    const local = certFactsFromCert(NEW.certPem);
    const res = await ensureCertkey(c, { certkey: 'otp-new', cert: files.cert, key: files.key, inform: 'PEM', local });
    expect(res).toMatchObject({ certkey: 'otp-new', created: true, adopted: false });
    expect(compareCertkey(res.info, local)).toEqual([]);
    expect(res.info.certkeydigest).toBe(local.sha256Hex);
  });

  it('adopts the same certkey when run again (no change)', async () => {
    const before = await labState(ctl);
    const res = await ensureCertkey(c, { certkey: 'otp-new', cert: 'whatever.pem', key: 'whatever.key', inform: 'PEM', local: certFactsFromCert(NEW.certPem) });
    expect(res).toMatchObject({ certkey: 'otp-new', created: false, adopted: true });
    expect((await labState(ctl)).certkeys).toEqual(before.certkeys);
  });

  it('adopts the certkey a 273 reply names when the same certificate is loaded under another name', async () => {
    const files = await uploadPair('dup', NEW);
    const res = await ensureCertkey(c, { certkey: 'otp-new-2', cert: files.cert, key: files.key, inform: 'PEM', local: certFactsFromCert(NEW.certPem) });
    expect(res).toMatchObject({ certkey: 'otp-new', created: false, adopted: true });
    expect(await getCertkey(c, 'otp-new-2')).toBeUndefined();
  });

  it('fails clearly when the name is taken by another certificate', async () => {
    const err = await ensureCertkey(c, { certkey: 'otp-old', cert: 'x.pem', key: 'x.key', inform: 'PEM', local: certFactsFromCert(NEW.certPem) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertkeyMismatchError);
    expect((err as CertkeyMismatchError).created).toBe(false);
    expect((err as Error).message).toMatch(/serial/);
  });

  it('refuses an expired or not-yet-valid certificate before any request', async () => {
    const expired = otpCert('otp-expired', { notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
    const future = otpCert('otp-future', { notBefore: new Date(Date.now() + 86_400_000 * 30) });
    const before = await labState(ctl);
    await expect(ensureCertkey(c, { certkey: 'e', cert: 'e.pem', key: 'e.key', inform: 'PEM', local: certFactsFromCert(expired.certPem) })).rejects.toThrow(/expired/);
    await expect(ensureCertkey(c, { certkey: 'f', cert: 'f.pem', key: 'f.key', inform: 'PEM', local: certFactsFromCert(future.certPem) })).rejects.toThrow(/not valid until/);
    expect(await labState(ctl)).toEqual(before);
  });

  it('adds from a PFX with a passphrase; a wrong passphrase is 1614', async () => {
    const pair = otpCert('otp-pfx');
    const p12 = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(pair.keyPem), [forge.pki.certificateFromPem(pair.certPem)], 'pfx-pass', { algorithm: '3des' });
    const der = Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
    const name = (await uploadUnique(new NitroFileTransport(c), { prefix: 'otp-pfx', ext: 'pfx', bytes: der, when })).name;
    const local = certFactsFromCert(pair.certPem);
    const bad = await ensureCertkey(c, { certkey: 'otp-pfx', cert: name, inform: 'PFX', passphrase: 'wrong', local }).catch((e: unknown) => e);
    expect((bad as NitroError).errorcode).toBe(1614);
    expect((bad as Error).message).not.toContain('wrong');
    const res = await ensureCertkey(c, { certkey: 'otp-pfx', cert: name, inform: 'PFX', passphrase: 'pfx-pass', local });
    expect(res).toMatchObject({ created: true, certkey: 'otp-pfx' });
    expect(res.info.inform).toBe('PFX');
  });

  it.each([
    ['1536 invalid certificate', 1536, () => ({ cert: 'old.key', key: 'old.key' })],
    ['1538 cert and key do not match', 1538, () => ({ cert: 'old.pem', key: 'nk.key' })],
  ])('%s surfaces with its code', async (_label, code, files) => {
    await uploadSystemFile(c, 'nk.key', Buffer.from(otpCert('other').keyPem)).catch(() => undefined);
    const err = await ensureCertkey(c, { certkey: `bad-${code}`, ...files(), inform: 'PEM', local: certFactsFromCert(OLD.certPem) }).catch((e: unknown) => e);
    expect((err as NitroError).errorcode).toBe(code);
  });

  it.each([1588, 1589])('%i from the appliance is reported with its code', async (code) => {
    await injectFault(ctl, { on: 'POST sslcertkey', errorcode: code });
    const err = await ensureCertkey(c, { certkey: `v-${code}`, cert: 'old.pem', key: 'old.key', inform: 'PEM', local: certFactsFromCert(OLD.certPem) }).catch((e: unknown) => e);
    expect((err as NitroError).errorcode).toBe(code);
  });

  it('an add whose reply was lost is settled by reading the certkey', async () => {
    const pair = otpCert('otp-lost');
    const files = await uploadPair('otp-lost', pair);
    await injectFault(ctl, { on: 'POST sslcertkey', drop: true });
    const res = await ensureCertkey(c, { certkey: 'otp-lost', cert: files.cert, key: files.key, inform: 'PEM', local: certFactsFromCert(pair.certPem) });
    expect(res).toMatchObject({ created: true, certkey: 'otp-lost' });
  });

  it('deletes only a certkey this run created and only when unbound', async () => {
    await expect(deleteCertkey(c, 'otp-lost', { createdByThisRun: false })).rejects.toThrow(/did not create/);
    await expect(deleteCertkey(c, 'otp-old', { createdByThisRun: true })).rejects.toThrow(/still bound/);
    await injectFault(ctl, { on: 'DELETE sslcertkey', errorcode: 1541 });
    await expect(deleteCertkey(c, 'otp-lost', { createdByThisRun: true })).rejects.toThrow(/referenced/);
    expect(await deleteCertkey(c, 'otp-lost', { createdByThisRun: true })).toBe(true);
    expect(await deleteCertkey(c, 'otp-lost', { createdByThisRun: true })).toBe(false);
  });

  it('finds certkey names in 273 messages', () => {
    expect(namesInMessage('Resource already exists [the same certificate is already loaded as certkey "otp a"]')).toContain('otp a');
    expect(namesInMessage('Resource already exists [certkey, otp-b]')).toContain('otp-b');
  });
});

describe('userDataEncryptionKey binding (multi firmware)', () => {
  it('lists, binds and unbinds with read-after-write', async () => {
    expect(await listUserDataEncryptionKeys(c)).toEqual(['otp-old']);
    const b = await bindUserDataEncryptionKey(c, 'otp-new');
    expect(b).toEqual({ changed: true, bound: ['otp-old', 'otp-new'] });
    expect((await bindUserDataEncryptionKey(c, 'otp-new')).changed).toBe(false);
    expect(await unbindUserDataEncryptionKey(c, 'otp-new')).toEqual({ changed: true, bound: ['otp-old'] });
    expect((await unbindUserDataEncryptionKey(c, 'otp-new')).changed).toBe(false);
  });

  it('a bind whose reply was lost is settled by the list', async () => {
    await injectFault(ctl, { on: 'PUT vpnglobal_sslcertkey_binding', drop: true });
    expect(await bindUserDataEncryptionKey(c, 'otp-new')).toEqual({ changed: true, bound: ['otp-old', 'otp-new'] });
    await unbindUserDataEncryptionKey(c, 'otp-new');
  });

  it('binding a certkey that does not exist reports 1540', async () => {
    await expect(bindUserDataEncryptionKey(c, 'nope')).rejects.toMatchObject({ errorcode: 1540 });
  });

  it('detectMultiBinding: accepted → multi; kept by default, removed with keepIfAccepted: false', async () => {
    const probe = await detectMultiBinding(c, 'otp-new', { keepIfAccepted: false });
    expect(probe).toMatchObject({ capability: 'multi', candidateLeftBound: false, bound: ['otp-old'] });
    const kept = await detectMultiBinding(c, 'otp-new');
    expect(kept).toMatchObject({ capability: 'multi', candidateLeftBound: true, bound: ['otp-old', 'otp-new'] });
    await unbindUserDataEncryptionKey(c, 'otp-new');
  });

  it('detectMultiBinding on single-binding firmware: refused, nothing changed', async () => {
    const single = httpClient([sim.appliances[1].nitroUrl], { appliance: 'adc-single' });
    try {
      const before = await labState(sim.appliances[1].controlUrl!);
      const probe = await detectMultiBinding(single, 'otp-new');
      expect(probe).toMatchObject({ capability: 'single', candidateLeftBound: false, bound: ['otp-old'] });
      expect(probe.evidence).toMatch(/errorcode 278/);
      const after = await labState(sim.appliances[1].controlUrl!);
      expect(after.bindings).toEqual(before.bindings);
    } finally {
      await single.logout();
      single.close();
    }
  });
});

describe('detectMultiBinding does not mistake a broken appliance for old firmware', () => {
  it('an HA propagation failure (349) on the probe bind fails instead of reading as "one binding"', async () => {
    await injectFault(ctl, { on: 'PUT vpnglobal_sslcertkey_binding', errorcode: 349 });
    await expect(detectMultiBinding(c, 'otp-new')).rejects.toMatchObject({ errorcode: 349 });
    expect(await listUserDataEncryptionKeys(c)).toEqual(['otp-old']);
  });

  // Mode auto swaps (an outage) only on positive evidence of one-key firmware: an unknown code, or
  // the generic 278 that names no key bound now, fails instead, with the way to choose swap.
  it.each([
    { what: 'an unknown errorcode (9999)', errorcode: 9999, says: /errorcode 9999/ },
    { what: 'a 278 that names no bound key', errorcode: 278, says: /errorcode 278 .*Invalid argument value \[injected fault/ },
  ])('$what on the probe bind fails, nothing changed, and says how to choose swap', async ({ errorcode, says }) => {
    await injectFault(ctl, { on: 'PUT vpnglobal_sslcertkey_binding', errorcode });
    const err = await detectMultiBinding(c, 'otp-new').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(says);
    expect(String((err as Error).message)).toMatch(
      /not the refusal read as "one key at a time".*If this firmware holds one key at a time, run with mode: swap \(outage: from the re-encryption until otp-new is bound/,
    );
    expect(await listUserDataEncryptionKeys(c)).toEqual(['otp-old']);
  });
});

describe('oneKeyRefusalNames: the one refusal read as "one key at a time"', () => {
  const refusal = (errorcode: number | undefined, message: string) =>
    new NitroError({ appliance: 'adc1', method: 'PUT', resource: 'vpnglobal_sslcertkey_binding', httpStatus: 400, errorcode, message });
  it('errorcode 278 naming a key bound now, as a whole name', () => {
    expect(oneKeyRefusalNames(refusal(278, 'Invalid argument value [userDataEncryptionKey otp-old is already bound; unbind it first]'), ['otp-old'], 'otp-new')).toBe('otp-old');
    expect(oneKeyRefusalNames(refusal(278, 'userDataEncryptionKey "otp old 2024" is bound.'), ['otp old 2024'], 'otp-new')).toBe('otp old 2024');
    expect(oneKeyRefusalNames(refusal(278, 'already bound: otp.old.'), ['otp.old'], 'otp-new')).toBe('otp.old');
  });
  it('not another code, not the candidate, not a key that is not bound, not part of a longer name', () => {
    expect(oneKeyRefusalNames(refusal(9999, 'otp-old is already bound'), ['otp-old'], 'otp-new')).toBeUndefined();
    expect(oneKeyRefusalNames(refusal(undefined, 'otp-old is already bound'), ['otp-old'], 'otp-new')).toBeUndefined();
    expect(oneKeyRefusalNames(refusal(278, 'userDataEncryptionKey otp-new has no private key'), ['otp-old'], 'otp-new')).toBeUndefined();
    expect(oneKeyRefusalNames(refusal(278, 'otp-older is already bound'), ['otp-old'], 'otp-new')).toBeUndefined();
    expect(oneKeyRefusalNames(refusal(278, 'userDataEncryptionKey otp-new has no private key'), ['otp'], 'otp-new')).toBeUndefined();
    expect(oneKeyRefusalNames(refusal(278, 'otp-old.bak is already bound'), ['otp-old'], 'otp-new')).toBeUndefined();
    expect(oneKeyRefusalNames(refusal(278, 'otp-old is already bound'), [], 'otp-new')).toBeUndefined();
  });
});

describe('OTP parameters and config', () => {
  it('reads aaaotpparameter and turns encryption ON (read back)', async () => {
    expect(await getOtpParameters(c)).toMatchObject({ encryption: 'OFF' });
    expect((await setOtpEncryption(c, 'ON')).changed).toBe(true);
    expect((await getOtpParameters(c)).encryption).toBe('ON');
    expect((await setOtpEncryption(c, 'ON')).changed).toBe(false);
  });

  it('configchanged follows changes and a save clears it, through busy retries', async () => {
    expect((await getNsConfig(c)).configchanged).toBe(true);
    await injectFault(ctl, { on: 'POST nsconfig?action=save', errorcode: 1461 });
    await injectFault(ctl, { on: 'POST nsconfig?action=save', errorcode: 293 });
    const after = await saveConfig(c);
    expect(after.configchanged).toBe(false);
    expect((await labState(ctl)).configChanged).toBe(false);
    // What a save keeps, in the appliance's own words (nsrunningconfig).
    const running = (await c.get('nsrunningconfig')).body.nsrunningconfig as { response?: string } | { response?: string }[];
    expect((Array.isArray(running) ? running[0] : running)?.response).toMatch(/bind vpn global -userDataEncryptionKey otp-old/);
  });

  it('refuses encryption ON with no key bound', async () => {
    await clearFaults(ctl);
    await unbindUserDataEncryptionKey(c, 'otp-old');
    await setOtpEncryption(c, 'OFF');
    await expect(setOtpEncryption(c, 'ON')).rejects.toThrow(/no userDataEncryptionKey bound/);
    await bindUserDataEncryptionKey(c, 'otp-old');
  });
});
