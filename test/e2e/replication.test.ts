// The directory as the appliances see it, on the real lab: two slapd (dc2 a syncrepl replica of
// dc1 that sees every change a few seconds late), each appliance's LDAP action naming one, and the
// run writing to dc1. The unbind must wait until dc2 shows no device under the old certificate
// (the journal proves the order) while users keep logging on through the appliance reading dc2;
// a stopped replica fails the guard and the run rolls back; an appliance whose action names
// another OTP attribute stops preflight; an inventory without a directory section is completed
// from the actions.
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { logonCheck } from '../../src/gateway/index.js';
import { request } from '../../src/http/request.js';
import { stopPid } from '../../src/lab/processes.js';
import { runCli } from '../helpers/cli.js';
import type { RunReport } from '../../src/report/run-report.js';
import type { UnbindGuardRecord } from '../../src/steps/unbind-old-key.js';
import { CUTOVER, runEvents, startE2eLab, type E2eLab, type RunEvent } from '../helpers/e2e.js';

const DELAY_SEC = 4;
/** The lagging replica of the second group: longer than a run takes to reach its rollback. */
const REPLICA_LAG_SEC = 10;

function notes(events: RunEvent[]): { seq: number; message: string }[] {
  return events.filter((e) => e.type === 'note').map((e) => ({ seq: e.seq, message: String(e['message']) }));
}

describe('replication guard: every directory server before the old key goes', () => {
  let lab: E2eLab;
  /** The overlap cutover's run, rolled back by the swap case at the end. */
  let overlapRun: string | undefined;
  beforeAll(async () => {
    lab = await startE2eLab({ users: 30, appliances: 2, replicas: 2, replicationDelaySec: DELAY_SEC });
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
  });

  // Before the run below: these change nothing, so the same lab serves both. The appliance's
  // action is changed through a fault that answers NITRO's GET authenticationldapaction with an
  // edited copy of the real one, as an appliance configured that way would answer.
  async function actionOf(appliance: string): Promise<Record<string, unknown>> {
    const a = lab.status.appliances.find((x) => x.name === appliance)!;
    const r = await request({
      method: 'GET',
      url: `${a.nitroUrl}/nitro/v1/config/authenticationldapaction`,
      headers: { 'X-NITRO-USER': a.username, 'X-NITRO-PASS': readFileSync(a.passwordFile, 'utf8').trim() },
      agent: new HttpsAgent({ ca: readFileSync(lab.status.directory.caFile) }),
    });
    expect(r.status).toBe(200);
    const list = (JSON.parse(r.body) as { authenticationldapaction: Record<string, unknown>[] }).authenticationldapaction;
    expect(list).toHaveLength(1);
    return list[0];
  }

  /** plan and run with `faults` in place: both exit 2 matching `says`, and nothing changes. */
  async function refusedUnchanged(inventory: string, faults: { appliance: string; action: Record<string, unknown> }[], says: RegExp[]): Promise<string> {
    const before = await lab.snapshot();
    try {
      // Every read of the actions for as long as the case runs, as the appliance would answer.
      for (const f of faults) await lab.fault(f.appliance, { on: 'GET authenticationldapaction', reply: { authenticationldapaction: [f.action] }, times: 50 });
      const plan = await lab.cli(['plan', CUTOVER, '-i', inventory]);
      expect(plan.code, plan.stderr).toBe(2);
      const run = await lab.cli(['run', CUTOVER, '-i', inventory, '--yes']);
      expect(run.code, run.stderr).toBe(2);
      for (const re of says) {
        expect(plan.stderr).toMatch(re);
        expect(run.stderr).toMatch(re);
      }
      expect(await lab.snapshot()).toEqual(before);
      return run.stderr;
    } finally {
      await lab.clearFaults();
    }
  }

  it("refuses an appliance whose action searches under a base that does not contain the inventory's", async () => {
    const action = { ...(await actionOf('adc2')), ldapbase: 'ou=Service,dc=lab,dc=example' };
    const stderr = await refusedUnchanged(
      lab.inventory,
      [{ appliance: 'adc2', action }],
      [/adc2's LDAP action ldap-otp searches under ou=Service,dc=lab,dc=example, which does not contain the inventory's directory\.base ou=Users,dc=lab,dc=example \(.*inventory\.yaml\)/],
    );
    expect(stderr).not.toMatch(/adc1's LDAP action/);
  }, 120_000);

  it("refuses an appliance whose action's filter selects users with an OTP value the inventory's filter does not", async () => {
    // The inventory reads only the OTP group's members; adc1's action reads the same users, adc2's
    // every user with a login name — among them users holding devices outside the group.
    const group = 'cn=OTP Users,ou=Groups,dc=lab,dc=example';
    const inv = parse(readFileSync(lab.inventory, 'utf8')) as { directory: Record<string, unknown> };
    inv.directory['filter'] = `(&(objectClass=user)(memberOf=${group}))`;
    const file = join(lab.labDir, 'inventory-otp-group.yaml');
    writeFileSync(file, stringify(inv));
    const adc1 = { ...(await actionOf('adc1')), searchfilter: `memberOf=${group}` };
    const stderr = await refusedUnchanged(
      file,
      [{ appliance: 'adc1', action: adc1 }],
      [
        /adc2's LDAP action ldap-otp finds \d+ user\(s\) with an OTP value under base ou=Users,dc=lab,dc=example and filter \(sAMAccountName=\*\) that the inventory's base ou=Users,dc=lab,dc=example and filter \(&\(objectClass=user\)\(memberOf=cn=OTP Users,ou=Groups,dc=lab,dc=example\)\) \(.*inventory-otp-group\.yaml\) do not select/,
      ],
    );
    expect(stderr).not.toMatch(/adc1's LDAP action/);
  }, 120_000);

  it('waits for the replica before unbinding, while logons through the appliance reading it keep working', async () => {
    const servers = lab.status.servers!;
    expect(servers.map((s) => s.name)).toEqual(['dc1', 'dc2']);
    const reader = lab.status.appliances.find((a) => a.name === 'adc2')!;
    const ca = readFileSync(lab.status.directory.caFile, 'utf8');
    const users = lab.users().filter((u) => (u.kind === 'single' || u.kind === 'multi') && u.devices.length > 0);
    expect(users.length).toBeGreaterThan(10);

    // Poll logons through adc2 (which reads dc2) for the whole run, a different user each time
    // (a code is accepted once per step and user).
    let running = true;
    const polls: { at: number; outcome: string; message: string }[] = [];
    const poller = (async () => {
      let i = 0;
      while (running) {
        const u = users[i++ % users.length];
        const r = await logonCheck({
          gatewayUrl: reader.gatewayUrl,
          user: u.sAMAccountName,
          password: (u as unknown as { password: string }).password,
          passcode: { kind: 'secret', secret: u.devices[0].secret },
          tls: { caPem: ca },
          minSecondsLeft: 0,
        });
        polls.push({ at: Date.now(), outcome: r.outcome, message: r.message });
        await new Promise((res) => setTimeout(res, 400));
      }
    })();
    // A bounded wait: should the lab's replica not converge, the run fails and says why.
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json', '--set', 'replicationTimeout=60'], { timeoutMs: 180_000 });
    running = false;
    await poller;
    expect(
      r.code,
      `${r.stderr}\n${r.stdout
        .split('\n')
        .filter((l) => !l.includes('"progress"'))
        .slice(-15)
        .join('\n')}`,
    ).toBe(0);

    const events = runEvents(r.stdout);
    const ns = notes(events);
    const waiting = ns.filter((n) => /^dc2: [\d,]+ entries still under the old certificate.* \(waiting for replication/.test(n.message));
    expect(waiting.length).toBeGreaterThan(0);
    const perServer = ns.find((n) => n.message.startsWith('census per server before unbinding the old key'))!;
    expect(perServer.message).toMatch(/dc1: 0 old \/ \d+ new; dc2: 0 old \/ \d+ new/);
    const unbinds = events.filter((e) => e.type === 'intent' && e['action'] === 'unbind');
    expect(unbinds).toHaveLength(2);
    // The order the journal proves: waiting on dc2, dc2 caught up, and only then the unbinds.
    for (const u of unbinds) {
      expect(u.seq).toBeGreaterThan(perServer.seq);
      for (const w of waiting) expect(u.seq).toBeGreaterThan(w.seq);
    }
    // Each server's wait, from the unbind step's record of its guard: report.json carries it,
    // and the journal's target event is the same record.
    const runId = String(events.find((e) => e.type === 'run')?.['runId']);
    overlapRun = runId;
    const report = JSON.parse(readFileSync(join(lab.root, 'home', 'runs', runId, 'report.json'), 'utf8')) as RunReport;
    const record = report.steps.find((s) => s.id === 'unbind-old-key')?.targets.find((t) => t.target === 'directory')?.changed as UnbindGuardRecord | undefined;
    expect(record?.guard.map((g) => g.server)).toEqual(['dc1', 'dc2']);
    expect(events.find((e) => e.type === 'target' && e['step'] === 'unbind-old-key' && e['target'] === 'directory')?.['changed']).toEqual(record);
    const guard = record!.guard;
    for (const g of guard) expect(g).toMatchObject({ old: 0, new: expect.any(Number) as number, error: null, allowed: false });
    expect(guard.map((g) => g.new)).toEqual([guard[0].new, guard[0].new]);
    expect(guard[0].new).toBeGreaterThan(0);
    const ms = (name: string) => guard.find((g) => g.server === name)!.waitedMs!;
    console.log(`replication guard: ${guard.map((g) => `${g.server} after ${(g.waitedMs! / 1000).toFixed(1)}s`).join(', ')} (replication delay ${DELAY_SEC}s)`);
    // dc1 is the server written to: caught up in the first census round. dc2 sees every write
    // DELAY_SEC after dc1, and only the re-encryption's own census and one logon check per
    // appliance lie between its last write and the guard's start: most of the delay is still
    // ahead. The guard re-reads every 2 s, so a wait is counted in whole rounds.
    expect(ms('dc1')).toBeLessThan(2000);
    expect(ms('dc2')).toBeGreaterThanOrEqual((DELAY_SEC * 1000) / 2);
    expect(ms('dc2')).toBeLessThan(DELAY_SEC * 4 * 1000);

    // Each logon check names the server its appliance's LDAP action reads: adc2's covered dc2.
    const logons = events.filter((e) => e.type === 'target' && String(e['step']).startsWith('logon-check'));
    expect(logons.length).toBeGreaterThanOrEqual(4);
    for (const l of logons) expect(String(l['message'])).toMatch(l['target'] === 'adc1' ? /logon of \S+ ok.* \(its LDAP action reads dc1\)$/ : /logon of \S+ ok.* \(its LDAP action reads dc2\)$/);

    expect(polls.length).toBeGreaterThan(5);
    expect(polls.filter((p) => p.outcome !== 'ok').map((p) => p.message)).toEqual([]);
  }, 240_000);

  it("completes an inventory without a directory section from the appliances' LDAP actions", async () => {
    const inv = parse(readFileSync(lab.inventory, 'utf8')) as Record<string, unknown>;
    delete inv['directory'];
    const file = join(lab.labDir, 'inventory-no-directory.yaml');
    writeFileSync(file, stringify(inv));
    const env = {
      ADC_CUTOVER_HOME: join(lab.root, 'home'),
      ADC_DIRECTORY_PASSWORD: readFileSync(lab.status.directory.passwordFile, 'utf8').trim(),
      // The lab CA, trusted as an operator trusts an internal CA (no directory.ca to name it).
      NODE_EXTRA_CA_CERTS: lab.status.directory.caFile,
    };
    const r = await runCli(['plan', CUTOVER, '-i', file, '--json'], { env, cwd: lab.root });
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { directory: { fromActions: string[]; servers: { name: string; readBy: string[] }[] } };
    const ports = lab.status.servers!.map((s) => new URL(s.ldapsUrl).port);
    expect(plan.directory.servers.map((s) => s.name)).toEqual(ports.map((p) => `127.0.0.1:${p}`));
    expect(plan.directory.servers.map((s) => s.readBy)).toEqual([['adc1'], ['adc2']]);
    expect(plan.directory.fromActions.join('\n')).toMatch(/attribute userParameters \(from adc1's LDAP action ldap-otp\)/);
    expect(plan.directory.fromActions.join('\n')).toMatch(/base ou=Users,dc=lab,dc=example/);
    const text = await runCli(['plan', CUTOVER, '-i', file], { env, cwd: lab.root });
    expect(text.stdout).toMatch(/from the appliances: bindDN cn=svc-otp,ou=Service,dc=lab,dc=example/);
    // Without the password reference the run says which one it needs.
    const noPass = await runCli(['plan', CUTOVER, '-i', file], { env: { ...env, ADC_DIRECTORY_PASSWORD: '' }, cwd: lab.root });
    expect(noPass.code).toBe(2);
    expect(noPass.stderr).toMatch(/ADC_DIRECTORY_PASSWORD/);
  }, 60_000);

  it('in swap mode binds the new key only after the replication wait', async () => {
    // The same lab, put back by rolling the overlap cutover back (its rollback waits for dc2 too).
    expect(overlapRun).toBeDefined();
    const undo = await lab.cli(['rollback', overlapRun!, '--yes', '--json'], { timeoutMs: 180_000 });
    expect(undo.code, undo.stderr).toBe(0);
    const back = await lab.snapshot();
    expect(Object.values(back.appliances).map((a) => a.bindings)).toEqual([['otp-old'], ['otp-old']]);
    expect(back.replicas).toEqual({ dc2: back.directory });

    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json', '--set', 'mode=swap', '--set', 'replicationTimeout=60'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const events = runEvents(r.stdout);
    const ns = notes(events);
    const waiting = ns.filter((n) => /^dc2: [\d,]+ entries still under the old certificate.* \(waiting for replication/.test(n.message));
    const perServer = ns.find((n) => n.message.startsWith('census per server before unbinding the old key'))!;
    const guard = (events.find((e) => e.type === 'target' && e['step'] === 'unbind-old-key' && e['target'] === 'directory')?.['changed'] as UnbindGuardRecord).guard;
    const intents = (step: string, action: string) => events.filter((e) => e.type === 'intent' && e['step'] === step && e['action'] === action);
    // Swap: nothing bound before the re-encryption; per appliance, the old key unbound, then the new bound.
    expect(intents('bind-new-key', 'bind')).toEqual([]);
    const unbinds = intents('unbind-old-key', 'unbind');
    const binds = intents('bind-new-key#2', 'bind');
    expect(binds.map((b) => b['target']).sort()).toEqual(['adc1', 'adc2']);
    // The journal's order: dc2 waited for, the guard's census, then every unbind and every bind.
    expect(waiting.length).toBeGreaterThan(0);
    expect(guard.find((g) => g.server === 'dc2')!.waitedMs).toBeGreaterThan(0);
    for (const b of binds) {
      expect(b.seq).toBeGreaterThan(perServer.seq);
      for (const w of waiting) expect(b.seq).toBeGreaterThan(w.seq);
      expect(b.seq).toBeGreaterThan(unbinds.find((u) => u['target'] === b['target'])!.seq);
    }
    console.log(`swap mode: ${guard.map((g) => `${g.server} after ${(g.waitedMs! / 1000).toFixed(1)}s`).join(', ')} before the unbinds and binds (replication delay ${DELAY_SEC}s)`);
  }, 300_000);
});

describe('replication guard: a replica that is behind, then one that cannot be read', () => {
  let lab: E2eLab;
  beforeAll(async () => {
    // One appliance, reading dc1: the logon checks pass with dc2 down, so the run reaches the
    // unbind, whose guard must read dc2 as well (the inventory lists it).
    lab = await startE2eLab({ users: 20, appliances: 1, replicas: 2, replicationDelaySec: REPLICA_LAG_SEC });
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it('fails when the replica has not caught up within replicationTimeout; the rollback keeps the new key until the replica has the restore too', async () => {
    // From the re-encryption to the rollback takes a few seconds, less than dc2's delay: dc2 is
    // behind when the guard looks. Its values are then the original ones, as the restore leaves
    // dc1's — yet the re-encryption, then the restore, are still on their way to it. Only the
    // change stamps tell: the rollback keeps the new key bound until dc2 has both.
    const before = await lab.snapshot();
    // The snapshot reads dc2 too (the lab came up once dc2 held the seed): "as before" covers it.
    expect(Object.keys(before.directory).length).toBeGreaterThan(20);
    expect(before.replicas).toEqual({ dc2: before.directory });
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json', '--set', 'replicationTimeout=2'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(3);
    const events = runEvents(r.stdout);
    const runId = String(events.find((e) => e.type === 'run')?.['runId']);
    const failed = events.find((e) => e.type === 'step-end' && e['step'] === 'unbind-old-key');
    expect(String(failed?.['error'])).toMatch(/dc2: \d+ entries still under the old certificate.* after replicationTimeout \(2 s\)/);
    expect(events.filter((e) => e.type === 'intent' && e['action'] === 'unbind')).toEqual([]);
    expect(JSON.stringify(events)).toMatch(/otp-enc[-0-9a-f]* kept bound.*dc2 had not caught up with the restore/);
    // Both keys bound: nobody is locked out whatever dc2 shows meanwhile.
    const held = await lab.snapshot();
    expect(Object.values(held.appliances).map((a) => [a.bindings.includes('otp-old'), a.bindings.some((b) => b.startsWith('otp-enc'))])).toEqual([[true, true]]);

    // Once dc2 has the restore, the rollback finishes; until then it keeps the key again.
    const deadline = Date.now() + (REPLICA_LAG_SEC + 30) * 1000;
    let undo = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 120_000 });
    while (undo.code === 3 && Date.now() < deadline) {
      expect(undo.stdout).toMatch(/dc2 had not caught up with the restore/);
      await new Promise((res) => setTimeout(res, 2000));
      undo = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 120_000 });
    }
    expect(undo.code, undo.stderr).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  }, 300_000);

  it('fails the guard and rolls back everything; allowUnreachable names it as an accepted exception', async () => {
    const dc2 = lab.status.servers!.find((s) => s.name === 'dc2')!;
    const running = await lab.snapshot();
    // A DC that is down (the lab's own stop: SIGTERM, then SIGKILL after a second).
    await stopPid(dc2.pid, { timeoutMs: 1000 });
    // Stopped, dc2 cannot change: the snapshots say so, and dc1 is compared value by value.
    const before = await lab.snapshot();
    expect(before).toEqual({ ...running, replicas: { dc2: 'unreachable' } });
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(1);
    const events = runEvents(r.stdout);
    const failed = events.find((e) => e.type === 'step-end' && e['step'] === 'unbind-old-key');
    expect(String(failed?.['error'])).toMatch(/directory server\(s\) dc2 \(.*\) could not be read/);
    expect(String(failed?.['error'])).toMatch(/allowUnreachable/);
    expect(events.filter((e) => e.type === 'intent' && e['action'] === 'unbind')).toEqual([]);
    expect(await lab.snapshot()).toEqual(before);

    const allowed = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json', '--set', 'allowUnreachable=dc2'], { timeoutMs: 180_000 });
    expect(allowed.code, allowed.stderr).toBe(0);
    const said = notes(runEvents(allowed.stdout))
      .map((n) => n.message)
      .join('\n');
    expect(said).toMatch(/dc2: unreachable \(.*\) — accepted by allowUnreachable/);
    expect(said).toMatch(/dc2: unreachable \(allowed\)/);
  }, 300_000);
});

describe('an appliance whose LDAP action names another OTP attribute', () => {
  let lab: E2eLab;
  beforeAll(async () => {
    lab = await startE2eLab({ users: 10, appliances: 2, otpAttribute: ['userParameters', 'extensionAttribute15'] });
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it('stops preflight with exit 2, naming both sides, and changes nothing', async () => {
    const before = await lab.snapshot();
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/adc2's LDAP action ldap-otp keeps OTP secrets in extensionAttribute15, the inventory's directory.attribute is userParameters/);
    expect(r.stderr).not.toMatch(/adc1's LDAP action/);
    expect(await lab.snapshot()).toEqual(before);
  }, 60_000);
});
