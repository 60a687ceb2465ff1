#!/usr/bin/env node
// `npm test` runs this first. The suite talks to a real slapd, checks the HTML change record in a
// real headless chromium and cross-checks the OTP format with the openssl command line: none of
// them comes from npm. As root (a fresh CI machine or container) the missing ones are installed
// with apt-get, the way `lab up` installs slapd; otherwise this stops with one message naming the
// packages and the command, so a missing tool is never a silent skip or a confusing failure later.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const onPath = (cmd) =>
  (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(`${dir}/${cmd}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

// Package → how to tell it is there. slapd also needs its mdb backend module (src/lab/slapd.ts).
const NEEDS = [
  { pkg: 'slapd', present: () => executable('/usr/sbin/slapd') && exists('/usr/lib/ldap/back_mdb.la') },
  { pkg: 'ldap-utils', present: () => onPath('ldapsearch') },
  { pkg: 'openssl', present: () => onPath('openssl') },
  { pkg: 'chromium', present: () => executable('/usr/bin/chromium') },
];

function exists(file) {
  try {
    accessSync(file);
    return true;
  } catch {
    return false;
  }
}

const missing = () => NEEDS.filter((n) => !n.present()).map((n) => n.pkg);
const wanted = missing();
if (wanted.length === 0) process.exit(0);

const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${wanted.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !onPath('apt-get')) {
  process.stderr.write(
    `npm test: the suite needs ${wanted.join(', ')}, which ${wanted.length === 1 ? 'is' : 'are'} not installed.\n` +
      `Install ${wanted.length === 1 ? 'it' : 'them'} as root, then run npm test again:\n  ${isRoot ? '' : 'sudo '}${command}\n`,
  );
  process.exit(2);
}

process.stderr.write(`npm test: installing ${wanted.join(', ')} with apt-get (once)\n`);
const run = spawnSync('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
const still = missing();
if (run.status !== 0 || still.length > 0) {
  process.stderr.write(`npm test: installing ${wanted.join(', ')} failed (exit ${run.status}); run it yourself:\n  ${command}\n${(run.stderr ?? '').slice(-2000)}`);
  process.exit(2);
}
process.stderr.write(`npm test: installed ${wanted.join(', ')}\n`);
