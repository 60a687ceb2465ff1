// `adc-cutover logon-check -i inventory`: what a run's logon-check step proves, on demand — an OTP
// logon through every gateway the inventory lists, each with a canary of its pool whose code for
// the current TOTP step that gateway has not accepted yet. The accepted steps are the ones runs
// record (src/gateway/totp-replay-store.ts), so a check just before or after a run does not collide.
import { readFile } from 'node:fs/promises';
import { EXIT, InputError } from '../errors.js';
import { chooseCanary, logonCheck, systemClock, type GatewayTlsOptions, type LogonResult } from '../gateway/index.js';
import { canariesOf, gatewaysOf, loadInventory, type ApplianceSpec } from '../playbook/inventory.js';
import { resolveSecret } from '../playbook/secret-ref.js';
import { registerSecret } from '../runner/redact.js';
import { FileAcceptedSteps } from '../gateway/totp-replay-store.js';

export interface InventoryLogonCheckArgs {
  inventory: string;
  /** Only this gateway of the inventory's. */
  gateway?: string;
  /** Only this canary of the pool. */
  user?: string;
  timeout?: number;
  json?: boolean;
}

interface Target {
  appliance: string;
  gateway: string;
  tls: GatewayTlsOptions;
}

export async function runInventoryLogonCheck(args: InventoryLogonCheckArgs): Promise<number> {
  const inv = await loadInventory(args.inventory);
  let pool = canariesOf(inv);
  if (pool.length === 0) throw new InputError(`${inv.file}: no canary: or canaries: to log on with`);
  if (args.user !== undefined) {
    pool = pool.filter((c) => c.user.toLowerCase() === args.user!.toLowerCase());
    if (pool.length === 0)
      throw new InputError(
        `--user ${args.user}: not a canary of ${inv.file} (it has: ${canariesOf(inv)
          .map((c) => c.user)
          .join(', ')})`,
      );
  }
  const missingSecret = pool.find((c) => !c.totpSecret);
  if (missingSecret) throw new InputError(`${inv.file}: canary ${missingSecret.user} has no totpSecret; logon-check -i needs one (a run reads the device from the directory instead)`);
  if (args.timeout !== undefined && !(args.timeout > 0)) throw new InputError('--timeout must be a positive number of seconds');

  let targets: Target[] = [];
  for (const a of inv.appliances) {
    const tls = await tlsOf(a);
    for (const gateway of gatewaysOf(a)) targets.push({ appliance: a.name, gateway, tls });
  }
  if (args.gateway !== undefined) {
    const wanted = args.gateway.replace(/\/+$/, '');
    targets = targets.filter((t) => t.gateway.replace(/\/+$/, '') === wanted);
    if (targets.length === 0) throw new InputError(`--gateway ${args.gateway}: not a gateway of ${inv.file}`);
  }
  if (targets.length === 0) throw new InputError(`${inv.file}: no appliance lists a gateway: URL to log on through`);

  const canaries = await Promise.all(
    pool.map(async (c) => {
      const password = await resolveSecret(c.password, inv.baseDir);
      const totpSecret = await resolveSecret(c.totpSecret!, inv.baseDir);
      registerSecret(password);
      registerSecret(totpSecret);
      return { user: c.user, password, totpSecret: totpSecret.replace(/\s+/g, '').toUpperCase().replace(/=+$/, ''), flow: c.flow };
    }),
  );

  const accepted = new FileAcceptedSteps();
  const results: (LogonResult & { appliance: string; user: string })[] = [];
  for (const t of targets) {
    const choice = chooseCanary(canaries, t.gateway, accepted, systemClock.now());
    const c = choice.canary;
    if (choice.waitMs > 0 && !args.json) {
      process.stderr.write(`${t.gateway}: every canary (${canaries.length}) has logged on here in this TOTP step; waiting ${Math.ceil(choice.waitMs / 1000)} s for the next one\n`);
    }
    const r = await logonCheck({
      gatewayUrl: t.gateway,
      user: c.user,
      password: c.password,
      passcode: { kind: 'secret', secret: c.totpSecret },
      flow: c.flow,
      tls: t.tls,
      acceptedSteps: choice.acceptedSteps,
      ...(args.timeout !== undefined ? { timeoutMs: args.timeout * 1000 } : {}),
      onNote: (n) => {
        if (!args.json) process.stderr.write(`${t.gateway}: ${n}\n`);
      },
    });
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    results.push({ ...r, appliance: t.appliance, user: c.user });
    if (!args.json) process.stdout.write(`${t.appliance} ${r.outcome === 'ok' ? 'ok' : `FAILED (${r.outcome})`}: ${r.message} [${r.flow}, ${r.durationMs} ms]\n`);
  }
  if (args.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  return results.every((r) => r.outcome === 'ok') ? EXIT.ok : EXIT.failedRolledBack;
}

async function tlsOf(a: ApplianceSpec): Promise<GatewayTlsOptions> {
  const t = a.gatewayTls ?? a.tls;
  let caPem: string | undefined;
  if (t.ca) {
    try {
      caPem = await readFile(t.ca, 'utf8');
    } catch (err) {
      throw new InputError(`appliance ${a.name}: cannot read the gateway CA ${t.ca} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { ...(caPem ? { caPem } : {}), ...(t.fingerprint ? { fingerprintSha256: t.fingerprint } : {}), ...(t.insecure ? { insecure: true } : {}) };
}
