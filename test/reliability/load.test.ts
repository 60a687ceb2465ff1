// Load: the re-encryption of 50,000 users while others enrol through the gateway and log on,
// overlap mode (both keys bound). On this 2-core machine the full size takes about 25 s (seeding
// ~10 s, the re-encryption ~10 s): `npm run test:long` runs it; `npm test` runs the same code with
// 5,000 users, enough for registrations and logons to race the re-encryption.
// RELIABILITY_LOAD_USERS=N runs another size and records it as its own suite.
import { afterAll, expect, it } from 'vitest';
import { FigureLog } from './figures.js';
import { runLoad, type LoadFigures } from './load.js';
import { sized } from './size.js';

const USERS = sized('RELIABILITY_LOAD_USERS', 5_000, 50_000);
const suite = USERS === 50_000 ? 'load' : `load-${USERS}`;
const figures = new FigureLog(
  suite,
  `Load: ${USERS.toLocaleString('en')} users re-encrypted while others enrol and log on`,
  `The cutover up to the re-encryption in overlap mode (the new key bound next to the old one first) on a lab with ${USERS.toLocaleString('en')} seeded users and one appliance, with 4 registrars enrolling devices through the gateway's POST /manageotp/register (users without a device get a first one, enrolled users a second, racing the compare-and-swap) and 2 clients logging on as a different enrolled user each time, until the run ends. Then every value is compared with the snapshot: the original devices intact, each registered device there with its exact secret, nothing left under the old key.`,
);

afterAll(() => figures.write());

it(
  `${USERS} users: re-encrypted with registrations and logons throughout; nothing lost`,
  async () => {
    const f: LoadFigures = await runLoad({ users: USERS, log: (l) => process.env['RELIABILITY_VERBOSE'] && console.log(l) });
    expect(f.exitCode, f.error).toBe(0);
    expect(f.lost).toEqual([]);
    expect(f.registeredDevicesMissing).toEqual([]);
    expect(f.logonsFailed).toEqual([]);
    expect(f.leftUnderOldKey).toBe(0);
    expect(f.changed).toBeGreaterThan(USERS / 2);
    // The point of the test: enrolment and logons happened while entries were moving.
    expect(f.registrationsDuringRekey).toBeGreaterThan(0);
    expect(f.logonsDuringRekey).toBeGreaterThan(0);
    figures.add({
      case: `${USERS.toLocaleString('en')} users, overlap mode`,
      kind: 'load',
      outcome: 'exit 0; every value whole; every registered device present; every logon ok',
      exitCode: f.exitCode,
      entriesChecked: f.entriesChecked,
      lost: f.lost.length + f.registeredDevicesMissing.length,
      extra: {
        're-encrypted': f.changed,
        'rekey s': Number(f.rekeySeconds.toFixed(1)),
        'entries/s': Math.round(f.rekeyRate),
        'CAS retries': f.retried,
        registrations: f.registrations,
        'registrations during rekey': f.registrationsDuringRekey,
        'refused registrations': f.registrationsRefused,
        logons: f.logons,
        'logons during rekey': f.logonsDuringRekey,
        'seed s': Number(f.seedSeconds.toFixed(1)),
      },
    });
  },
  USERS <= 50_000 ? 300_000 : 60 * 60_000,
);
