// The inventory `lab up` writes for the playbooks (contract 3): paths relative to the file,
// secrets only as ${file:…} references.
import { relative } from 'node:path';
import { stringify } from 'yaml';
import type { LabPaths } from './lab-layout.js';

export interface InventoryAppliance {
  name: string;
  username: string;
  passwordFile: string;
  gateway: string;
  /** One URL for a standalone appliance, two for an HA pair. */
  nitro: string[];
}

export interface InventoryInput {
  paths: LabPaths;
  appliances: InventoryAppliance[];
  directory: { url: string; bindDN: string; passwordFile: string; base: string; attribute: string; servers?: { name: string; url: string }[] };
  /** One canary is written as `canary:`, several as the pool `canaries:`. */
  canaries: { user: string; passwordFile: string; totpSecretFile: string }[];
  oldCertkey: string;
}

// The simulator answers on loopback in milliseconds: a short timeout and settle window keep the
// waits after a lost reply or a crash (src/steps/late-writes.ts) short in the lab.
export const LAB_NITRO_TIMEOUT_MS = 5000;
export const LAB_NITRO_SETTLE_MS = 1000;

export function inventoryYaml(inv: InventoryInput): string {
  const rel = (file: string) => relative(inv.paths.root, file);
  const ref = (file: string) => `\${file:${rel(file)}}`;
  const doc = {
    appliances: inv.appliances.map((a) => ({
      name: a.name,
      ...(a.nitro.length === 1 ? { nitro: a.nitro[0] } : { nodes: a.nitro }),
      username: a.username,
      password: ref(a.passwordFile),
      tls: { ca: rel(inv.paths.caFile) },
      gateway: a.gateway,
      transport: 'nitro',
      timeoutMs: LAB_NITRO_TIMEOUT_MS,
      settleMs: LAB_NITRO_SETTLE_MS,
    })),
    directory: {
      ...(inv.directory.servers ? { servers: inv.directory.servers, writeTo: inv.directory.servers[0].name } : { url: inv.directory.url }),
      ca: rel(inv.paths.caFile),
      bindDN: inv.directory.bindDN,
      password: ref(inv.directory.passwordFile),
      base: inv.directory.base,
      filter: '(objectClass=user)',
      attribute: inv.directory.attribute,
    },
    certificates: {
      old: { cert: rel(inv.paths.oldCert), key: rel(inv.paths.oldKey), certkey: inv.oldCertkey },
      new: { cert: rel(inv.paths.newCert), key: rel(inv.paths.newKey) },
    },
  };
  const canaries = inv.canaries.map((c) => ({ user: c.user, password: ref(c.passwordFile), totpSecret: ref(c.totpSecretFile) }));
  const withCanaries = { ...doc, ...(canaries.length === 1 ? { canary: canaries[0] } : { canaries }) };
  return `# Written by adc-cutover lab up: the lab as an inventory for the playbooks.\n# Paths are relative to this file; secrets are files of mode 0600 under secrets/.\n${stringify(withCanaries, { lineWidth: 0 })}`;
}
