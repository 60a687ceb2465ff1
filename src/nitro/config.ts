// Running vs saved configuration, saving, and pushing /nsconfig/ssl to the HA secondary (or the
// cluster nodes) so a failover after the cutover finds the same certificate files.
import { AdcError } from '../errors.js';
import type { NitroClient } from './client.js';
import { NitroOutcomeUnknownError } from './errors.js';
import { awaitChange } from './settle.js';
import { nsConfigRecord, toNsConfig, type NsConfigInfo } from './ha.js';
import { listSystemFiles, SSL_DIR } from './systemfile.js';

export async function getNsConfig(client: NitroClient): Promise<NsConfigInfo> {
  const reply = await client.get('nsconfig');
  return toNsConfig(nsConfigRecord(client.appliance, reply.body), client.appliance);
}

export interface SaveOptions {
  /** Attempts while the appliance answers 293/1461 (busy). Default 8. */
  attempts?: number;
}

/** `save ns config`. Busy replies are retried with back-off by the client. */
export async function saveConfig(client: NitroClient, opts: SaveOptions = {}): Promise<NsConfigInfo> {
  try {
    await client.request({ method: 'POST', resource: 'nsconfig', query: { action: 'save' }, body: { nsconfig: {} } }, { attempts: opts.attempts ?? 8 });
  } catch (err) {
    if (!(err instanceof NitroOutcomeUnknownError)) throw err;
    // A save still running would land after whatever comes next (a rollback's undo, say) and
    // store the state of this moment: wait for it to finish rather than race it.
    return awaitChange(
      err,
      'the save',
      () => getNsConfig(client),
      (c) => !c.configchanged,
    );
  }
  const after = await getNsConfig(client);
  if (after.configchanged) {
    throw new AdcError(`${client.appliance}: save reported done but nsconfig still says configchanged`);
  }
  return after;
}

/** Force the HA file sync of /nsconfig/ssl (or, on a cluster, the cluster file sync). */
export async function syncSslFiles(client: NitroClient): Promise<void> {
  if (client.target?.mode === 'cluster') {
    await client.request({ method: 'POST', resource: 'clusterfiles', query: { action: 'sync' }, body: { clusterfiles: { mode: ['ssl'] } } });
    return;
  }
  await client.request({ method: 'POST', resource: 'hafiles', query: { action: 'sync' }, body: { hafiles: { mode: ['ssl'] } } });
}

export interface SecondaryFilesCheck {
  /** undefined: no secondary known (stand-alone, or its URL was not given). */
  secondaryUrl: string | undefined;
  present: string[];
  missing: string[];
}

/**
 * Read /nsconfig/ssl on the secondary (a read: the vendor only forbids writing there) until
 * every named file is present or the time is up. Needs `resolveTarget` to have run.
 */
export async function verifyFilesOnSecondary(client: NitroClient, names: readonly string[], opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<SecondaryFilesCheck> {
  const secondary = client.target?.secondaryUrl;
  if (!secondary) return { secondaryUrl: undefined, present: [], missing: [...names] };
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const files = new Set((await listSystemFiles(client, SSL_DIR, { node: secondary })).map((f) => f.filename));
    const present = names.filter((n) => files.has(n));
    const missing = names.filter((n) => !files.has(n));
    if (!missing.length || Date.now() >= deadline) return { secondaryUrl: secondary, present, missing };
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2000));
  }
}
