// Benchmark (not a test): the re-encryption against what the directory alone allows, on one lab
// slapd, in one run. Three pairs of figures, each round timing all six on the same data:
//
//  1. the whole `adc-cutover directory rekey` command (spawned: start-up, key loading, scan,
//     decide, re-encrypt, check before the write, sealed backup with fsync, compare-and-swap,
//     grouped read-back, byte-identical) against the ldapmodify ceiling: the same
//     compare-and-swap modifies as LDIF, applied by as many parallel `ldapmodify` processes as
//     the command has writer connections (no scan, crypto, backup or read-back);
//  2. the whole `adc-cutover otptool -operation 2` command (the vendor tool's command line on the
//     same engine, with its per-user app.log; spawned and measured the same way, with -concurrency
//     set to the same writer count; it has no page size, group or crypto-worker option) against
//     its own ldapmodify ceiling, timed in the same round; every user must be reported modified
//     and the exit code be 0 (--no-otptool skips this pair);
//  3. the engine called in this process against the in-process ceiling: the same modifies with
//     this project's LDAP client, pipelined in the same groups, with the same grouped read-back.
//
// The ceilings' modifies are computed before they are timed and written to LDIF files, so
// nothing per user is held in memory, here or in the command. Each round moves every user from
// the old certificate to the new one (a ceiling) and back (a command or the engine), so every
// timed phase does the same work and no reset is needed. --pin puts slapd on CPU 0 and
// everything else on CPU 1, like a directory on its own machine.
//   npm run bench:rekey -- [--users 10000] [--concurrency 4] [--runs 5] [--pin] [--no-in-process] [--no-otptool] [--crypto-workers N] [--seed ldif|ldap]
// --seed: LDAP adds, or an LDIF file loaded by slapd's offline slapadd (the default from 50,000 users).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, DEFAULT_PAGE_SIZE, type DirectoryClient } from '../src/directory/index.js';
import { selfSignedCert } from '../src/lab/pki.js';
import { startSlapd, type RunningSlapd } from '../src/lab/slapd.js';
import { keyMaterialFromPem, type OtpKeyMaterial } from '../src/otp/index.js';
import { runRekey, type EntryReport, type RunSummary } from '../src/rekey/index.js';
import { ldaptsCeiling } from './ceiling-ldapts.js';
import { ldapmodifyCeiling, passwordFile } from './ceiling-ldapmodify.js';
import { runCommand, runOtptool, startupSecs, writeKeyFiles } from './command.js';
import { describe, inProcess, load, median, phase, type Phase } from './figures.js';
import { writeCasLdif } from './ldif.js';
import { parseOptions, type BenchOptions } from './options.js';
import { pinPid } from './processes.js';
import { ATTRIBUTE, seedUsers } from './seed.js';

const SLAPD_CPU = 0;
const CLIENT_CPU = 1;
/** The engine's group when none is given (src/rekey/engine.ts), which otptool runs with. */
const DEFAULT_GROUP = 50;

interface Round {
  ldapmodify: Phase;
  command: Phase;
  startup: number;
  otpCeiling?: Phase;
  otptool?: Phase;
  ldapts?: Phase;
  engine?: Phase;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** What otptool runs with that the rekey command was given otherwise: it has no option for these. */
function otptoolNotes(o: BenchOptions): string {
  const notes = [
    ...(o.pageSize !== DEFAULT_PAGE_SIZE ? [`page ${DEFAULT_PAGE_SIZE}`] : []),
    ...(o.groupSize !== DEFAULT_GROUP ? [`group ${DEFAULT_GROUP}`] : []),
    ...(o.cryptoWorkers > 0 ? ['no crypto workers'] : []),
  ];
  return notes.length ? ` (otptool has no option for it: ${notes.join(', ')})` : '';
}

function checkSummary(what: string, s: RunSummary, users: number): void {
  if (s.changed !== users || s.failed.length > 0 || s.stopped) {
    throw new Error(`${what}: changed ${s.changed} of ${users}, ${s.failed.length} failed${s.stopped ? `, stopped: ${s.stopped.message}` : ''}`);
  }
}

async function main(o: BenchOptions): Promise<void> {
  const cpus = availableParallelism();
  if (o.pin && cpus < 2) throw new Error('--pin needs two CPUs');
  const cpu = o.pin ? CLIENT_CPU : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'adc-bench-'));
  const pems = { old: selfSignedCert({ cn: 'bench old' }), new: selfSignedCert({ cn: 'bench new' }) };
  const oldKey: OtpKeyMaterial = keyMaterialFromPem(pems.old.certPem, pems.old.keyPem);
  const newKey: OtpKeyMaterial = keyMaterialFromPem(pems.new.certPem, pems.new.keyPem);
  const keyFiles = writeKeyFiles(dir, pems);
  const slapd: RunningSlapd = await startSlapd({ dir: join(dir, 'slapd') });
  try {
    say(
      `adc-cutover rekey benchmark: ${o.users} users, ${o.concurrency} writer connections${o.otptool ? ` (otptool -concurrency ${o.concurrency})` : ''}, group ${o.groupSize}, page ${o.pageSize}, ${o.runs} run(s)${o.cryptoWorkers ? `, ${o.cryptoWorkers} crypto worker(s)` : ''}${o.pin ? `, pinned: slapd on CPU ${SLAPD_CPU}, command/ldapmodify/bench on CPU ${CLIENT_CPU}` : ', not pinned'}; ${cpus} CPUs, load ${load()}`,
    );
    let t = Date.now();
    const how = await seedUsers(slapd, o.users, oldKey, o.seed, (n) => process.stderr.write(`  seeded ${n}\n`));
    say(`seeded in ${((Date.now() - t) / 1000).toFixed(1)} s by ${o.seed === 'ldif' ? 'slapadd' : 'LDAP'}: ${how} (slapd ${slapd.url}, back_mdb dbnosync; load ${load()})`);
    // Pinned after seeding: an offline load restarts slapd under a new pid.
    if (o.pin) {
      await pinPid(slapd.pid, SLAPD_CPU);
      await pinPid(process.pid, CLIENT_CPU);
    }

    const svc = () => connect({ url: slapd.url, bindDN: slapd.serviceDN, password: slapd.servicePassword, timeoutMs: 120_000 });
    const pw = passwordFile(dir, slapd);
    const ldifDir = join(dir, 'ldif');
    mkdirSync(ldifDir, { mode: 0o700 });
    /** The modifies old → new for the current values, on disk (untimed). */
    const prepare = async () => {
      const c = await svc();
      try {
        const l = await writeCasLdif(c, slapd.usersDN, oldKey, newKey, ldifDir, o.concurrency, o.groupSize, o.pageSize);
        if (l.entries !== o.users) throw new Error(`scan found ${l.entries} of ${o.users} users`);
        return l.files;
      } finally {
        await c.close();
      }
    };

    /** The ceiling: the modifies old → new written out (untimed), then applied by ldapmodify (timed). */
    const ceiling = async (): Promise<Phase> => {
      const files = await prepare();
      return phase(slapd.pid, () => ldapmodifyCeiling(slapd, files, pw, cpu));
    };

    const u = o.users;
    const rounds: Round[] = [];
    for (let run = 1; run <= o.runs; run++) {
      t = Date.now();
      const ldapmodify = await ceiling();
      // Everything is under the new key now: the command moves it back.
      const command = await phase(slapd.pid, async () => {
        const r = await runCommand(slapd, {
          from: keyFiles.new,
          to: keyFiles.old,
          backup: join(dir, `backup-${run}.jsonl`),
          concurrency: o.concurrency,
          pageSize: o.pageSize,
          cryptoWorkers: o.cryptoWorkers,
          cpu,
        });
        checkSummary('command', r.summary, u);
        return r;
      });
      const startup = await startupSecs(cpu);
      const round: Round = { ldapmodify, command, startup };
      say(`run ${run}: ldapmodify ceiling ${describe(u, ldapmodify)}`);
      say(
        `run ${run}: whole command      ${describe(u, command)}; ratio ${(ldapmodify.secs / command.secs).toFixed(2)}; peak RSS ${command.peakRssMb!.toFixed(0)} MB; start-up alone ${startup.toFixed(2)} s`,
      );

      if (o.otptool) {
        // Its own ceiling, on the same slapd in the same round: old → new again, then otptool moves it back.
        const otpCeiling = await ceiling();
        const otptool = await phase(slapd.pid, async () => {
          const r = await runOtptool(slapd, {
            from: keyFiles.new,
            to: keyFiles.old,
            backup: join(dir, `otptool-backup-${run}.jsonl`),
            log: join(dir, `otptool-${run}.log`),
            concurrency: o.concurrency,
            cpu,
          });
          const c = r.counts;
          if (c.fetched !== u || c.modified !== u || c.notModified !== 0) throw new Error(`otptool: fetched ${c.fetched}, modified ${c.modified} of ${u}, not modified ${c.notModified}`);
          return r;
        });
        round.otpCeiling = otpCeiling;
        round.otptool = otptool;
        say(`run ${run}: ldapmodify ceiling ${describe(u, otpCeiling)} (for otptool)`);
        say(`run ${run}: otptool -operation 2 ${describe(u, otptool)}; ratio ${(otpCeiling.secs / otptool.secs).toFixed(2)}; peak RSS ${otptool.peakRssMb!.toFixed(0)} MB${otptoolNotes(o)}`);
      }

      if (o.inProcess) {
        const files2 = await prepare();
        const conns: DirectoryClient[] = await Promise.all(Array.from({ length: o.concurrency }, svc));
        let ldapts: Phase;
        try {
          ldapts = await phase(slapd.pid, () =>
            inProcess(async () => {
              const r = await ldaptsCeiling(conns, files2, o.groupSize);
              if (r.entries !== u) throw new Error(`ldapts ceiling wrote ${r.entries} of ${u}`);
            }),
          );
        } finally {
          await Promise.all(conns.map((c) => c.close()));
        }
        let reported = 0;
        const backupFile = join(dir, `engine-backup-${run}.jsonl`);
        const engine = await phase(slapd.pid, () =>
          inProcess(async () => {
            const s = await runRekey({
              connect: svc,
              base: slapd.usersDN,
              filter: '(objectClass=user)',
              attribute: ATTRIBUTE,
              job: { kind: 'rekey', from: [newKey], to: oldKey },
              backupFile,
              concurrency: o.concurrency,
              groupSize: o.groupSize,
              pageSize: o.pageSize,
              ...(o.cryptoWorkers > 0 ? { cryptoWorkers: o.cryptoWorkers } : {}),
              ...(o.onEntry ? { onEntry: (r: EntryReport) => void (reported += r.devices.length > 0 ? 1 : 0) } : {}),
            });
            checkSummary('engine', s, u);
          }),
        );
        rmSync(backupFile, { force: true });
        if (o.onEntry && reported !== u) throw new Error(`onEntry saw ${reported} of ${u} entries`);
        round.ldapts = ldapts;
        round.engine = engine;
        say(`run ${run}: ldapts ceiling     ${describe(u, ldapts)}`);
        say(`run ${run}: engine in-process  ${describe(u, engine)}; ratio ${(ldapts.secs / engine.secs).toFixed(2)}`);
      }
      rounds.push(round);
      process.stderr.write(`  round ${run} took ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }

    const med = (f: (r: Round) => number | undefined) => median(rounds.map(f).filter((x): x is number => x !== undefined));
    const rate = (f: (r: Round) => number | undefined) => `${(u / med(f)).toFixed(0)} users/s`;
    const lines = [
      `--- ${u} users, median of ${rounds.length} run(s)${o.pin ? ', pinned' : ''}${o.cryptoWorkers ? `, ${o.cryptoWorkers} crypto worker(s)` : ''}; load ${load()} now`,
      `whole command      ${rate((r) => r.command.secs)} vs ldapmodify ceiling ${rate((r) => r.ldapmodify.secs)}: ratio ${med((r) => r.ldapmodify.secs / r.command.secs).toFixed(2)}; command peak RSS ${Math.max(...rounds.map((r) => r.command.peakRssMb!)).toFixed(0)} MB; start-up ${med((r) => r.startup).toFixed(2)} s of ${med((r) => r.command.secs).toFixed(2)} s`,
    ];
    if (o.otptool) {
      lines.push(
        `otptool -op 2      ${rate((r) => r.otptool?.secs)} vs ldapmodify ceiling ${rate((r) => r.otpCeiling?.secs)}: ratio ${med((r) => (r.otpCeiling && r.otptool ? r.otpCeiling.secs / r.otptool.secs : undefined)).toFixed(2)}; command peak RSS ${Math.max(...rounds.map((r) => r.otptool!.peakRssMb!)).toFixed(0)} MB${otptoolNotes(o)}`,
      );
    }
    if (o.inProcess) {
      lines.push(
        `engine in-process  ${rate((r) => r.engine?.secs)} vs ldapts ceiling ${rate((r) => r.ldapts?.secs)}: ratio ${med((r) => (r.ldapts && r.engine ? r.ldapts.secs / r.engine.secs : undefined)).toFixed(2)}`,
      );
    }
    lines.push(`this process's peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (seeding, LDIF, ceilings${o.inProcess ? ', the in-process engine' : ''})`);
    say(lines.join('\n'));
  } finally {
    await slapd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

let opts: BenchOptions;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
main(opts).catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
