// The inventory's canary forms: one `canary:`, or a pool `canaries:`; never both, never a user twice.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { canariesOf, loadInventory } from '../../src/playbook/inventory.js';

const dir = mkdtempSync(join(tmpdir(), 'inv-canaries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = `appliances:
  - name: adc1
    nitro: https://127.0.0.1:9443
    username: nsroot
    password: \${env:ADC_PW}
directory:
  url: ldaps://127.0.0.1:636
  bindDN: cn=svc,dc=lab
  password: \${env:DIR_PW}
  base: ou=Users,dc=lab
  attribute: userParameters
certificates:
  old: { cert: old.pem, key: old.key }
  new: { cert: new.pem, key: new.key }
`;
const one = (user: string) => `{ user: ${user}, password: "\${file:${user}.pw}", totpSecret: "\${file:${user}.totp}" }`;

function inventory(name: string, canaries: string): string {
  const f = join(dir, name);
  writeFileSync(f, BASE + canaries);
  return f;
}

it('reads a pool in order, and the single form as a pool of one', async () => {
  const pool = await loadInventory(inventory('pool.yaml', `canaries:\n  - ${one('canary')}\n  - ${one('canary2')}\n  - ${one('canary3')}\n`));
  expect(canariesOf(pool).map((c) => c.user)).toEqual(['canary', 'canary2', 'canary3']);
  const single = await loadInventory(inventory('single.yaml', `canary: ${one('canary')}\n`));
  expect(canariesOf(single).map((c) => [c.user, c.flow])).toEqual([['canary', 'auto']]);
  expect(canariesOf(await loadInventory(inventory('none.yaml', '')))).toEqual([]);
});

it('refuses canary: and canaries: together, naming the file and line', async () => {
  const f = inventory('both.yaml', `canary: ${one('canary')}\ncanaries:\n  - ${one('canary2')}\n`);
  await expect(loadInventory(f)).rejects.toThrow(new RegExp(`${f.replace(/[.]/g, '\\.')}:17 canaries: give canary: \\(one user\\) or canaries: \\(a pool\\), not both`));
});

it('refuses a canary listed twice in the pool, and an empty pool', async () => {
  const f = inventory('twice.yaml', `canaries:\n  - ${one('canary')}\n  - ${one('Canary')}\n`);
  await expect(loadInventory(f)).rejects.toThrow(/twice\.yaml:17 canaries\[1\]\.user: canary "Canary" is listed twice/);
  await expect(loadInventory(inventory('empty.yaml', 'canaries: []\n'))).rejects.toThrow(/canaries.*list at least one canary/);
});
