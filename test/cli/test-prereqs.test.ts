// `npm test` starts with scripts/test-prereqs.mjs: what the suite needs beyond npm is installed
// (as root, with apt-get) or named with the command to install it, and the run stops — never a
// silent skip. Here the tools on PATH are hidden (and apt-get with them), so it must stop and say so.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/test-prereqs.mjs', import.meta.url));

it('names the missing packages and the apt-get command, and exits 2, when it cannot install them', () => {
  const r = spawnSync(process.execPath, [SCRIPT], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^npm test: the suite needs ldap-utils, openssl, which are not installed\.\n/);
  expect(r.stderr).toMatch(/apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ldap-utils openssl\n$/);
});

it('says nothing and exits 0 when everything is there', () => {
  const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
