// Benchmark (not a test): the engine's users/s against the ceiling on the same slapd with the
// same connection count. The ceiling is what the LDAP server alone allows for this job: the
// same compare-and-swap modifies (values precomputed, no crypto, no backup, no scan) in the same
// groups, pipelined the same way, each group read back with the same one-search-per-group
// read-back the engine verifies with. The engine run additionally scans, decides, re-encrypts,
// checks every new value with the target key before the write (every device decrypted, secrets
// equal to the originals), seals and fsyncs the backup, and requires each read-back to be
// byte-identical to the checked value (one that differs is decrypted and checked in full).
//   npm run bench:rekey -- --users 20000 [--concurrency 8] [--group 50] [--page-size 500] [--on-entry]
// --on-entry: the engine run also hands every entry to an onEntry callback (as otptool's app.log does).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { casReplace, connect, readValues, scan, type DirectoryClient } from '../src/directory/index.js';
import { selfSignedCert } from '../src/lab/pki.js';
import { randomPassword, sshaHash, startSlapd, type RunningSlapd } from '../src/lab/slapd.js';
import { newTotpSecret } from '../src/lab/seed.js';
import { Keyring, encryptValue, keyMaterialFromPem, rekeyValue, type OtpKeyMaterial } from '../src/otp/index.js';
import { runRekey, type EntryReport } from '../src/rekey/index.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const users = arg('users', 20000);
const concurrency = arg('concurrency', 8);
const groupSize = arg('group', 50);
const pageSize = arg('page-size', 500);
const attribute = 'userParameters';
const withOnEntry = process.argv.includes('--on-entry');

/** Everyone enrolled under the old key, one device each, every tenth user a second one. */
async function seed(slapd: RunningSlapd, oldKey: OtpKeyMaterial): Promise<void> {
  const clients = await Promise.all(Array.from({ length: 4 }, async () => {
    const c = new Client({ url: slapd.url, timeout: 60_000 });
    await c.bind(slapd.rootDN, slapd.rootPassword);
    return c;
  }));
  const hash = sshaHash(randomPassword());
  let next = 0;
  const worker = async (c: Client) => {
    while (next < users) {
      const i = next++;
      const n = String(i + 1).padStart(6, '0');
      const devices = [{ name: 'phone', secret: newTotpSecret() }, ...(i % 10 === 0 ? [{ name: 'tablet', secret: newTotpSecret() }] : [])];
      await c.add(`cn=User ${n},${slapd.usersDN}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'], cn: `User ${n}`, sn: n, sAMAccountName: `user${n}`,
        userPassword: hash, [attribute]: encryptValue(devices, oldKey),
      });
    }
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, () => worker(c))));
  await Promise.all(clients.map((c) => c.unbind()));
}

/** The ceiling's workload: CAS old → new, grouped and read back exactly as the engine does. */
async function casAll(conns: DirectoryClient[], pairs: { dn: string; from: string; to: string }[]): Promise<number> {
  const groups: (typeof pairs)[] = [];
  for (let i = 0; i < pairs.length; i += groupSize) groups.push(pairs.slice(i, i + groupSize));
  let next = 0;
  let verified = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(conns.map(async (c) => {
    while (next < groups.length) {
      const g = groups[next++]!;
      await Promise.all(g.map((p) => casReplace(c, p.dn, attribute, p.from, p.to)));
      const back = await readValues(c, g.map((p) => p.dn), attribute);
      verified += back.size;
    }
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (verified !== pairs.length) throw new Error(`ceiling read back ${verified} of ${pairs.length}`);
  return secs;
}

function cpuSecs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'adc-bench-'));
  const mk = (cn: string) => {
    const p = selfSignedCert({ cn });
    return keyMaterialFromPem(p.certPem, p.keyPem);
  };
  const oldKey = mk('bench old');
  const newKey = mk('bench new');
  const slapd = await startSlapd({ dir: join(dir, 'slapd') });
  try {
    let t = Date.now();
    await seed(slapd, oldKey);
    process.stdout.write(`seeded ${users} users in ${((Date.now() - t) / 1000).toFixed(1)} s (slapd ${slapd.url}, dbnosync)\n`);
    const svc = () => connect({ url: slapd.url, bindDN: slapd.serviceDN, password: slapd.servicePassword, timeoutMs: 60_000 });

    // Ceiling: precompute (untimed), then time only the LDAP work.
    const scanner = await svc();
    const pairs: { dn: string; from: string; to: string }[] = [];
    const from = new Keyring([oldKey]);
    for await (const e of scan(scanner, { base: slapd.usersDN, attribute, pageSize })) {
      const r = rekeyValue(e.values[0]!, { from, to: newKey });
      pairs.push({ dn: e.dn, from: e.values[0]!, to: r.value! });
    }
    await scanner.close();
    const conns = await Promise.all(Array.from({ length: concurrency }, svc));
    const cpu0 = process.cpuUsage();
    const ceilingSecs = await casAll(conns, pairs);
    const ceilingCpu = cpuSecs(cpu0);
    // Reset to the seeded values (untimed) so the engine starts from the same state.
    t = Date.now();
    await casAll(conns, pairs.map((p) => ({ dn: p.dn, from: p.to, to: p.from })));
    await Promise.all(conns.map((c) => c.close()));
    process.stdout.write(`reset in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);

    let reported = 0;
    const cpu1 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const s = await runRekey({
      connect: svc, base: slapd.usersDN, filter: '(objectClass=user)', attribute,
      job: { kind: 'rekey', from: [oldKey], to: newKey }, backupFile: join(dir, 'backup.jsonl'),
      concurrency, groupSize, pageSize,
      ...(withOnEntry ? { onEntry: (r: EntryReport) => void (reported += r.devices.length > 0 ? 1 : 0) } : {}),
    });
    const engineSecs = Number(process.hrtime.bigint() - t0) / 1e9;
    const engineCpu = cpuSecs(cpu1);
    if (s.changed !== pairs.length || s.failed.length > 0) throw new Error(`engine changed ${s.changed} of ${pairs.length}, ${s.failed.length} failed`);
    if (withOnEntry && reported !== pairs.length) throw new Error(`onEntry saw ${reported} of ${pairs.length} entries`);

    const engineRate = pairs.length / engineSecs;
    const ceilingRate = pairs.length / ceilingSecs;
    const rssMb = process.resourceUsage().maxRSS / 1024;
    process.stdout.write([
      `users ${pairs.length}, connections ${concurrency}, group ${groupSize}, page ${pageSize}${withOnEntry ? ', onEntry callback' : ''}`,
      `engine : ${engineSecs.toFixed(2)} s  ${engineRate.toFixed(0)} users/s  (scan + decide + re-encrypt + secret check before the write + sealed backup with fsync per group + CAS + grouped read-back, byte-identical)`,
      `ceiling: ${ceilingSecs.toFixed(2)} s  ${ceilingRate.toFixed(0)} users/s  (same CAS modifies, precomputed, + the same grouped read-back; no scan, crypto or backup)`,
      `ratio  : ${(engineRate / ceilingRate).toFixed(2)}`,
      `CPU of this process: engine ${engineCpu.toFixed(2)} s, ceiling ${ceilingCpu.toFixed(2)} s (slapd runs in its own process)`,
      `peak RSS: ${rssMb.toFixed(0)} MB (whole process, including the precomputed ceiling values)`,
    ].join('\n') + '\n');
  } finally {
    await slapd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
