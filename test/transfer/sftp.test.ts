import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileExistsError } from '../../src/transfer/transport.js';
import { SftpDryRunError, SftpHostKeyError, SftpTransport, parseHostKeyPin } from '../../src/transfer/sftp.js';
import { removeCreated, uploadUnique } from '../../src/transfer/upload.js';
import { startSftpServer, type SftpTestServer } from '../helpers/sftp-server.js';

const USER = 'nsroot';
const PASSWORD = 'sftp-test-pass-1';
const clientKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const parsed = ssh2.utils.parseKey(clientKey);
if (parsed instanceof Error) throw parsed;
const pubLine = `ssh-rsa ${(Array.isArray(parsed) ? parsed[0]! : parsed).getPublicSSH().toString('base64')}`;

let server: SftpTestServer;
let transport: SftpTransport;

beforeAll(async () => {
  server = await startSftpServer({ username: USER, password: PASSWORD, authorizedKey: pubLine });
  fs.mkdirSync(path.join(server.root, 'nsconfig/ssl'), { recursive: true });
  transport = await SftpTransport.connect({ host: '127.0.0.1', port: server.port, username: USER, password: PASSWORD, hostKeySha256: server.hostKeySha256 });
});

afterAll(async () => {
  await transport?.close();
  await server?.stop();
});

describe('SftpTransport', () => {
  it('uploads, reads back the same bytes, and reports existence', async () => {
    const bytes = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(await transport.exists('a.pem')).toBe(false);
    await transport.upload('a.pem', bytes);
    expect(await transport.exists('a.pem')).toBe(true);
    expect((await transport.read('a.pem'))!.equals(bytes)).toBe(true);
    expect(fs.readFileSync(path.join(server.root, 'nsconfig/ssl/a.pem')).equals(bytes)).toBe(true);
    expect(await transport.read('missing.pem')).toBeUndefined();
  });

  it('uploads a file larger than one SFTP write', async () => {
    const big = Buffer.alloc(200_000, 7);
    big.write('marker', 150_000);
    await transport.upload('big.bin', big);
    expect((await transport.read('big.bin'))!.equals(big)).toBe(true);
  });

  it('refuses to overwrite an existing file and leaves it untouched', async () => {
    fs.writeFileSync(path.join(server.root, 'nsconfig/ssl/taken.pem'), 'original');
    await expect(transport.upload('taken.pem', Buffer.from('new'))).rejects.toBeInstanceOf(FileExistsError);
    expect(fs.readFileSync(path.join(server.root, 'nsconfig/ssl/taken.pem'), 'utf8')).toBe('original');
  });

  it('uploadUnique moves to the next name when one is taken, verifies, and removes only what it created', async () => {
    const when = new Date('2026-11-23T10:15:00Z');
    fs.writeFileSync(path.join(server.root, 'nsconfig/ssl/otp-new-20261123T101500Z.pem'), 'someone else');
    const up = await uploadUnique(transport, { prefix: 'otp-new', ext: 'pem', bytes: Buffer.from('cert bytes'), when });
    expect(up.name).toBe('otp-new-20261123T101500Z-2.pem');
    const res = await removeCreated(transport, [up.name, 'never-made.pem']);
    expect(res).toEqual({ removed: [up.name], absent: ['never-made.pem'] });
    expect(fs.readFileSync(path.join(server.root, 'nsconfig/ssl/otp-new-20261123T101500Z.pem'), 'utf8')).toBe('someone else');
  });

  it('dry run refuses uploads and removals and records them without content', async () => {
    const t = await SftpTransport.connect({ host: '127.0.0.1', port: server.port, username: USER, password: PASSWORD, hostKeySha256: server.hostKeySha256, dryRun: true });
    try {
      await expect(t.upload('dry.key', Buffer.from('SECRET-KEY'))).rejects.toBeInstanceOf(SftpDryRunError);
      await expect(t.remove('a.pem')).rejects.toBeInstanceOf(SftpDryRunError);
      expect(await t.exists('a.pem')).toBe(true);
      expect(fs.existsSync(path.join(server.root, 'nsconfig/ssl/dry.key'))).toBe(false);
      expect(t.wouldSend).toEqual([
        { op: 'upload', path: '/nsconfig/ssl/dry.key', bytes: 10 },
        { op: 'remove', path: '/nsconfig/ssl/a.pem' },
      ]);
    } finally {
      await t.close();
    }
  });

  it('rejects names with a path', async () => {
    await expect(transport.upload('../etc/passwd', Buffer.from('x'))).rejects.toThrow(/no path/);
  });

  it('authenticates with a private key', async () => {
    const t = await SftpTransport.connect({ host: '127.0.0.1', port: server.port, username: USER, privateKey: clientKey, hostKeySha256: server.hostKeySha256 });
    try {
      await t.upload('by-key.pem', Buffer.from('k'));
      expect(await t.exists('by-key.pem')).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('accepts the pin as hex too', async () => {
    const hex = parseHostKeyPin(server.hostKeySha256).toString('hex');
    const t = await SftpTransport.connect({ host: '127.0.0.1', port: server.port, username: USER, password: PASSWORD, hostKeySha256: hex });
    await t.close();
  });

  it('refuses a server whose host key does not match the pin, before authenticating', async () => {
    const wrong = `SHA256:${Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '')}`;
    const err = await SftpTransport.connect({ host: '127.0.0.1', port: server.port, username: USER, password: PASSWORD, hostKeySha256: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SftpHostKeyError);
    expect(String((err as Error).message)).toContain(server.hostKeySha256);
    expect(String((err as Error).message)).not.toContain(PASSWORD);
  });

  it('gives every request a deadline: a server that never answers fails the call, not the run', async () => {
    const t = await SftpTransport.connect({ host: '127.0.0.1', port: server.port, username: USER, password: PASSWORD, hostKeySha256: server.hostKeySha256, timeoutMs: 300 });
    server.stall('LSTAT');
    try {
      await expect(t.exists('a.pem')).rejects.toThrow(/no reply within 300 ms/);
    } finally {
      server.stall(undefined);
      await t.close();
    }
  });

  it('reports wrong credentials without echoing them', async () => {
    const err = await SftpTransport.connect({ host: '127.0.0.1', port: server.port, username: USER, password: 'wrong-pass-xyz', hostKeySha256: server.hostKeySha256 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/authentication/i);
    expect((err as Error).message).not.toContain('wrong-pass-xyz');
  });
});
