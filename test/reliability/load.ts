// The load run: re-encrypt a large directory while users enrol new devices through the gateway's
// registration endpoint and others log on, in overlap mode (both keys bound). load.test.ts runs
// it at 50,000 users; another size: RELIABILITY_LOAD_USERS=N npx vitest run test/reliability/load.test.ts
// (the test is the script: vitest runs the TypeScript, there is no other runner here).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { logonCheck } from '../../src/gateway/index.js';
import { Keyring, loadKeyMaterial, readSecrets } from '../../src/otp/index.js';
import { compareValues, jsonEvents } from './check.js';
import { startE2eLab, type E2eLab } from '../helpers/e2e.js';
import { postRegister } from '../helpers/enrol.js';

export interface LoadFigures {
  users: number;
  seedSeconds: number;
  runSeconds: number;
  rekeySeconds: number;
  rekeyRate: number;
  changed: number;
  retried: number;
  registrations: number;
  registrationsDuringRekey: number;
  registrationsRefused: number;
  logons: number;
  logonsDuringRekey: number;
  logonsFailed: string[];
  entriesChecked: number;
  lost: string[];
  registeredDevicesMissing: string[];
  leftUnderOldKey: number;
  exitCode: number | null;
  /** The run's last words when it did not succeed. */
  error: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32Secret(): string {
  return [...randomBytes(20)].map((b) => BASE32[b & 31]).join('');
}

let agent: Agent | undefined;
const agentFor = (ca: string) => (agent ??= new Agent({ ca, keepAlive: true, maxSockets: 8 }));

export async function runLoad(opts: { users: number; registrars?: number; log?: (l: string) => void }): Promise<LoadFigures> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const lab: E2eLab = await startE2eLab({ users: opts.users, appliances: 1 });
  try {
    const seedSeconds = (Date.now() - t0) / 1000;
    log(`lab up with ${opts.users} users in ${seedSeconds.toFixed(1)} s`);
    const before = await lab.snapshot();
    const ca = readFileSync(join(lab.labDir, 'pki', 'ca.pem'), 'utf8');
    const gateway = lab.status.appliances[0].gatewayUrl;
    const users = lab.users();
    const old = await loadKeyMaterial({ cert: lab.status.certs.old.cert, key: lab.status.certs.old.key });
    const neu = await loadKeyMaterial({ cert: lab.status.certs.new.cert, key: lab.status.certs.new.key });
    const keyring = new Keyring([old, neu]);
    const passwords = new Map((JSON.parse(readFileSync(join(lab.labDir, 'secrets', 'users.json'), 'utf8')) as { users: { dn: string; password: string }[] }).users.map((u) => [u.dn, u.password]));

    // Overlap mode, the cutover up to the re-encryption: the new key is bound next to the old
    // one before the first entry moves, so registrations use the new key and logons read both.
    const playbook = join(lab.root, 'load.yaml');
    writeFileSync(
      playbook,
      'name: load\nparams:\n  mode: overlap\nsteps:\n  - uses: preflight\n  - uses: import-certkey\n  - uses: bind-new-key\n    with: { phase: overlap }\n  - uses: rekey-directory\n',
    );

    let running = true;
    const registered = new Map<string, { device: string; secret: string }>();
    const registeredAt: number[] = [];
    let refused = 0;
    // Registrars: users not enrolled yet get a first device, enrolled ones a second — the latter
    // race the re-encryption's compare-and-swap on the same entry.
    const candidates = users.filter((u) => u.kind === 'none' || u.kind === 'single').sort((a, b) => a.dn.localeCompare(b.dn));
    let next = 0;
    const registrar = async () => {
      while (running && next < candidates.length) {
        const u = candidates[next++];
        const device = `load.${next}`;
        const secret = base32Secret();
        const r = await postRegister(gateway, ca, { user: u.sAMAccountName, password: passwords.get(u.dn)!, deviceName: device, secret }, agentFor(ca));
        if (r.status === 200) {
          registered.set(u.dn.toLowerCase(), { device, secret });
          registeredAt.push(Date.now());
        } else {
          refused++;
        }
      }
    };
    // Logons: a different enrolled user each time (a code is never sent twice), through the
    // gateway that must read whichever key the user's value is under at that moment.
    const logonPool = users.filter((u) => u.kind === 'single').reverse();
    const loggedOnAt: number[] = [];
    const logonsFailed: string[] = [];
    const logoner = async () => {
      while (running && logonPool.length) {
        const u = logonPool.pop()!;
        const r = await logonCheck({
          gatewayUrl: gateway,
          user: u.sAMAccountName,
          password: passwords.get(u.dn)!,
          passcode: { kind: 'secret', secret: u.devices[0].secret },
          tls: { caPem: ca },
          minSecondsLeft: 0,
        });
        loggedOnAt.push(Date.now());
        if (r.outcome !== 'ok') logonsFailed.push(`${u.sAMAccountName}: ${r.outcome}: ${r.message}`);
      }
    };

    const run = lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 30 * 60_000 });
    const workers = [...Array.from({ length: opts.registrars ?? 4 }, registrar), logoner(), logoner()];
    // The run's events arrive at its end (runCli buffers): the re-encryption's window is read
    // from their timestamps afterwards. The workers stop when the run does.
    const r = await run;
    running = false;
    await Promise.all(workers);
    const events = jsonEvents(r.stdout);
    const start = events.find((e) => e.type === 'step-start' && e['step'] === 'rekey-directory');
    const end = events.find((e) => e.type === 'step-end' && e['step'] === 'rekey-directory');
    const rekeyFrom = Date.parse(String(start?.['t']));
    const rekeyTo = Date.parse(String(end?.['t']));
    const during = (ts: number[]) => ts.filter((t) => t >= rekeyFrom && t <= rekeyTo).length;
    const target = events.find((e) => e.type === 'target' && e['step'] === 'rekey-directory');
    const summary = (target?.['changed'] ?? {}) as { changed?: number; retried?: number };
    const runSeconds = (Date.now() - t0) / 1000 - seedSeconds;

    // Every value: the original's devices intact (plus the registered one), nothing left under
    // the old key, every registered device readable with its exact secret.
    const after = await lab.snapshot();
    const check = compareValues(before.directory, after.directory, keyring, { mayGrow: new Set(registered.keys()) });
    const missing: string[] = [];
    for (const [dn, d] of registered) {
      const v = after.directory[dn]?.[0];
      try {
        const found = v ? readSecrets(v, keyring).devices.find((x) => x.name === d.device) : undefined;
        if (found?.secret !== d.secret) missing.push(dn);
      } catch {
        missing.push(dn);
      }
    }
    let leftUnderOldKey = 0;
    for (const v of Object.values(after.directory).flat()) {
      try {
        readSecrets(v, new Keyring([neu]));
      } catch {
        try {
          readSecrets(v, new Keyring([old]));
          leftUnderOldKey++;
        } catch {
          // Broken seeded values: read by neither key, and left as they were.
        }
      }
    }
    return {
      users: opts.users,
      seedSeconds,
      runSeconds,
      rekeySeconds: (rekeyTo - rekeyFrom) / 1000,
      rekeyRate: (summary.changed ?? 0) / Math.max(0.001, (rekeyTo - rekeyFrom) / 1000),
      changed: summary.changed ?? 0,
      retried: summary.retried ?? 0,
      registrations: registered.size,
      registrationsDuringRekey: during(registeredAt),
      registrationsRefused: refused,
      logons: loggedOnAt.length,
      logonsDuringRekey: during(loggedOnAt),
      logonsFailed,
      entriesChecked: check.checked,
      lost: check.bad,
      registeredDevicesMissing: missing,
      leftUnderOldKey,
      exitCode: r.code,
      error: r.code === 0 ? '' : r.stderr.slice(-2000),
    };
  } finally {
    agent?.destroy();
    agent = undefined;
    await lab.stop();
  }
}
