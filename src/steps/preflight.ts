// Preflight: reach everything, read live state, refuse on surprises. No writes. Re-runs on
// resume so later steps always work from what the appliances and the directory say now.
import { BadSearchBase, census, type CensusResult } from '../directory/index.js';
import { AdcError, EXIT, InputError } from '../errors.js';
import {
  NitroReplyShapeError,
  certFactsFromCert,
  compareCertkey,
  getCertkey,
  getOtpParameters,
  listCertkeys,
  listSystemFiles,
  readFirmwareVersion,
  readVpnGlobalBindings,
  shortVersion,
  type CertkeyInfo,
  type LocalCertFacts,
} from '../nitro/index.js';
import type { StepOptions } from '../playbook/playbook.js';
import type { JsonObject } from '../runner/json.js';
import type { Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import type { ApplianceHandle, Estate } from './estate.js';
import { newCertkeyName, type ApplianceFacts, type StepDeps } from './facts.js';
import { applianceFactsJson, censusJson } from './facts-json.js';
import { forEachAppliance } from './fleet.js';
import { ACTIONS_TARGET, checkLdapActions } from './ldap-actions.js';
import { allowedUnreachable, censusEveryServer, devicesUnder } from './replication.js';
import { recordCensusOptions } from './kid-census.js';

export class PreflightStep implements Step {
  readonly kind = 'preflight';
  readonly title = 'Preflight: reach every appliance and the directory, check certificates, take a census';
  readonly rerunOnResume = true;
  constructor(
    readonly id: string,
    private readonly deps: StepDeps<StepOptions<'preflight'>>,
  ) {}

  targets(): string[] {
    return [...this.deps.estate.appliances.map((a) => a.name), 'directory', ACTIONS_TARGET];
  }

  async plan(ctx: StepContext): Promise<StepPlan> {
    const results = await this.apply(ctx);
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length) throw new InputError(`preflight refused: ${failed.map((f) => `${f.target}: ${f.message}`).join('; ')}`);
    return { changes: [], warnings: this.deps.estate.appliances.flatMap((a) => [...a.warnings, ...(a.target?.notes ?? []).map((n) => `${a.name}: ${n}`)]) };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    const { estate, facts } = this.deps;
    const oldFacts = certFactsFromCert(estate.certs.old.km.certPem);
    const newFacts = certFactsFromCert(estate.certs.new.km.certPem);
    const results = await forEachAppliance(this.deps, ctx, async (a) => {
      const f = await inspectAppliance(a, estate, oldFacts, newFacts);
      facts.appliances.set(a.name, f);
      const clash = await checkNewCertkeyName(a, this.deps, newFacts, f);
      if (clash) return { target: a.name, status: 'failed', message: clash };
      const oldBound = f.oldCertkey !== undefined && f.bound.includes(f.oldCertkey);
      const newBound = f.newCertkey !== undefined && f.bound.includes(f.newCertkey);
      if (!oldBound && !newBound && this.deps.with.requireOldBound) {
        return {
          target: a.name,
          status: 'failed',
          message: `the old certificate (${estate.certs.old.km.subject}) is not bound as userDataEncryptionKey (bound: ${f.bound.join(', ') || 'none'}); check certificates.old in ${estate.inventory.file}`,
        };
      }
      return { target: a.name, status: 'ok', message: describeAppliance(a, f), changed: applianceFactsJson(a, f) };
    });
    results.push(await this.directoryCensus(ctx));
    results.push(await checkLdapActions(estate, ctx));
    return results;
  }

  private async directoryCensus(ctx: StepContext): Promise<TargetResult> {
    const { estate, facts } = this.deps;
    const dir = estate.inventory.directory;
    const client = await estate.directory();
    try {
      const c = await census(client, recordCensusOptions(estate));
      facts.census = c;
      for (const k of c.byKid.filter((k) => !k.held)) {
        ctx.note('directory', `${k.devices} device(s) in ${k.entries} entr(ies) are under a certificate we were not given (KID ${k.kid}); they will be left as they are`, 'warn');
      }
      if (c.multiValued.entries) ctx.note('directory', `${c.multiValued.entries} entr(ies) hold several values in ${dir.attribute}; they are refused and reported, never written`, 'warn');
      if (c.unreadable.entries) ctx.note('directory', `${c.unreadable.entries} entr(ies) hold values that cannot be read; they are left as they are`, 'warn');
      const perServer = await censusPerServerText(estate, this.deps.params);
      return { target: 'directory', status: 'ok', message: `${describeCensus(c, estate)}${perServer.text}`, changed: { ...censusJson(c), ...(perServer.json ? { perServer: perServer.json } : {}) } };
    } catch (err) {
      // The server, not the inventory's schema, knows whether the base exists: point at the field.
      if (err instanceof BadSearchBase) throw estate.inventory.fieldError(['directory', 'base'], err.message);
      throw err;
    } finally {
      await client.close();
    }
  }

  /** Preflight only reads: a dry run does it for real. */
  dryRun(ctx: StepContext): Promise<TargetResult[]> {
    return this.apply(ctx);
  }
  async rollback(): Promise<never[]> {
    return [];
  }
}

async function inspectAppliance(a: ApplianceHandle, estate: Estate, oldFacts: LocalCertFacts, newFacts: LocalCertFacts): Promise<ApplianceFacts> {
  a.target = await a.client.resolveTarget();
  const version = await readFirmwareVersion(a.client);
  const bindings = await readVpnGlobalBindings(a.client);
  const bound = bindings.userDataKeys;
  const named = estate.certs.old.spec.certkey;
  let certkeys: CertkeyInfo[] | undefined;
  const all = async () => (certkeys ??= await listCertkeys(a.client));
  let oldCertkey: string | undefined;
  if (named) {
    const info = await getCertkey(a.client, named);
    if (!info) throw new InputError(`${a.name}: certkey ${named} (certificates.old.certkey) does not exist`);
    const diffs = compareCertkey(info, oldFacts);
    if (diffs.length) throw new InputError(`${a.name}: certkey ${named} does not hold certificates.old: ${diffs.join('; ')}`);
    oldCertkey = named;
  } else {
    oldCertkey = (await all()).find((c) => compareCertkey(c, oldFacts).length === 0)?.certkey;
  }
  const newCertkey = (await all()).find((c) => compareCertkey(c, newFacts).length === 0)?.certkey;
  refuseUnechoedKey(a.name, bindings.serverCerts, bound, [oldCertkey, newCertkey]);
  await checkFileListings(a);
  // The OTP parameters only inform the plan; a failed read leaves them unknown. A reply we cannot
  // read is different: it is refused like every other (reply-shape.ts).
  const otp = await getOtpParameters(a.client).catch((err: unknown) => {
    if (err instanceof NitroReplyShapeError) throw err;
    return undefined;
  });
  const self = a.target.nodes.find((n) => n.url === a.target?.primaryUrl);
  return {
    ...(version.ok ? { firmwareVersion: shortVersion(version.version) } : { firmwareVersionUnknown: version.why }),
    oldCertkey,
    newCertkey,
    bound,
    capability: bound.length > 1 ? 'multi' : 'unknown',
    systemType: a.target.mode,
    haRole: self?.self?.state,
    otpEncryption: otp?.encryption,
  };
}

/**
 * The import step decides which file names are free, and the rollback which files to delete, from
 * the /nsconfig/ssl listing, on the primary and (after the file sync) on the HA secondary. Read it
 * here, where a listing we cannot read refuses the run before anything is written, instead of in
 * the import, where it would cost a rollback. Only the shape matters here: a secondary that does
 * not answer is the import's business, as it was before this read.
 */
async function checkFileListings(a: ApplianceHandle): Promise<void> {
  await listSystemFiles(a.client);
  const secondary = a.target?.secondaryUrl;
  if (!secondary) return;
  await listSystemFiles(a.client, undefined, { node: secondary }).catch((err: unknown) => {
    if (err instanceof NitroReplyShapeError) throw new AdcError(`${err.message} (read on the HA secondary ${secondary})`, EXIT.invalidInput, { cause: err });
  });
}

/**
 * vpn global lists the old or new OTP certkey as a `certkeyname` (server certificate) row and no
 * userDataEncryptionKey row for it. The Terraform provider notes that some builds' GET does not
 * echo userdataencryptionkey, and binds certkeyname beside it: such a row may well be the OTP key.
 * Which key encrypts the secrets is the one fact the cutover cannot guess, so stop here.
 */
function refuseUnechoedKey(appliance: string, serverCerts: readonly string[], bound: readonly string[], otpCertkeys: (string | undefined)[]): void {
  const suspect = otpCertkeys.filter((k): k is string => k !== undefined && serverCerts.includes(k) && !bound.includes(k));
  if (!suspect.length) return;
  throw new InputError(
    `${appliance}: vpn global lists ${suspect.join(', ')} as certkeyname (a server certificate), not as userDataEncryptionKey${bound.length ? ` (bound as userDataEncryptionKey: ${bound.join(', ')})` : ' (no userDataEncryptionKey listed at all)'}. ` +
      'Some builds do not echo userdataencryptionkey in that GET, so the OTP key binding cannot be read here; nothing was changed. ' +
      `Check with "show vpn global" on the appliance, and unbind that certkeyname if it is not meant to be there`,
  );
}

/**
 * The name the new certkey is to get may already be taken on this appliance. Holding the new
 * certificate, it is adopted (as any certkey holding it is); holding anything else, the run is
 * refused here, naming appliance and certkey, rather than found out by a failed add and a
 * rollback. Returns the refusal, if any.
 */
async function checkNewCertkeyName(a: ApplianceHandle, deps: StepDeps, newFacts: LocalCertFacts, f: ApplianceFacts): Promise<string | undefined> {
  const name = newCertkeyName(deps);
  const info = await getCertkey(a.client, name);
  if (!info) return undefined;
  const diffs = compareCertkey(info, newFacts);
  if (diffs.length === 0) {
    f.newCertkey = name;
    return undefined;
  }
  const source =
    deps.params.newCertkey !== undefined
      ? 'newCertkey, from --set or the playbook params'
      : deps.estate.certs.new.spec.certkey !== undefined
        ? `certificates.new.certkey in ${deps.estate.inventory.file}`
        : 'the name derived from the new certificate';
  const holds = info.subject ? `${info.subject.replace(/\n/g, ', ')}${info.serial ? `, serial ${info.serial}` : ''}` : diffs.join('; ');
  return `certkey ${name} (${source}) already exists here and holds another certificate than certificates.new (${holds}): choose another name for the new certkey`;
}

function describeAppliance(a: ApplianceHandle, f: ApplianceFacts): string {
  const ha = a.target?.mode === 'ha' ? `HA pair, primary ${a.target.primaryUrl}${a.target.peerSync ? `, sync ${a.target.peerSync}` : ''}` : (a.target?.mode ?? 'standalone');
  const fw = f.firmwareVersion ? `firmware ${f.firmwareVersion}` : `firmware version unknown (${f.firmwareVersionUnknown ?? 'not read'})`;
  return `${ha}; ${fw}; bound userDataEncryptionKey: ${f.bound.join(', ') || 'none'}; old certkey ${f.oldCertkey ?? '—'}; new certificate ${f.newCertkey ? `already loaded as ${f.newCertkey}` : 'not loaded yet'}; OTP encryption ${f.otpEncryption ?? 'unknown'}`;
}

/** With several directory servers: devices per server and certificate, for the report's table. */
async function censusPerServerText(estate: Estate, params: { allowUnreachable?: string | undefined }): Promise<{ text: string; json?: JsonObject[] }> {
  if ((await estate.guardServers()).length < 2) return { text: '' };
  const list = await censusEveryServer(estate, allowedUnreachable(params));
  const oldKid = estate.certs.old.km.kidText;
  const newKid = estate.certs.new.km.kidText;
  const json = list.map((s) => ({ server: s.server, old: s.census ? devicesUnder(s.census, oldKid) : null, new: s.census ? devicesUnder(s.census, newKid) : null, error: s.error ?? null }));
  return { text: `; per server (old / new): ${json.map((j) => (j.error ? `${j.server} unreachable` : `${j.server} ${j.old} / ${j.new}`)).join(', ')}`, json };
}

function describeCensus(c: CensusResult, estate: Estate): string {
  const kid = (k: string) => c.byKid.find((x) => x.kid === k);
  const o = kid(estate.certs.old.km.kidText);
  const n = kid(estate.certs.new.km.kidText);
  return `${c.entries} entries, ${c.withValue} with a value: ${o?.devices ?? 0} device(s) under the old certificate, ${n?.devices ?? 0} under the new, ${c.legacy.devices} legacy plaintext, ${c.unreadable.entries} unreadable, ${c.multiValued.entries} multi-valued`;
}
