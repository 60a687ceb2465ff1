// Hand-built RunReports shaped like the lab's: a finished cutover on two appliances (one swapped),
// and a run whose rollback could not finish — with an attacker-chosen DN in an LDAP message.
import type { RunReport, StepReport } from '../../src/report/run-report.js';

const OLD = 'otp-old';
const NEW = 'otp-enc-20261123-c967b5';
const OLD_KID = '7fGp4zRyxCSCm_vfGWJJ5D-qKjI=';
const NEW_KID = 'yWe1D3fUGTDG45zmI6Xf3jprov0=';
export const HOSTILE_DN = 'cn=<script>alert("x")</script>,ou=Users,dc=lab,dc=example';
/** Secret-like values that sit in free-form payloads the page must never dump. */
export const PLANTED = ['S3cr3t-Passphrase-9f2c', 'JBSWY3DPEHPK3PXPJBSWY3DP', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'];

const census = (oldDevices: number, newDevices: number) => ({
  entries: 41,
  withValue: 33,
  empty: 8,
  legacy: { entries: 4, devices: 6 },
  encrypted: { entries: 28, devices: 36 },
  multiValued: 0,
  unreadable: 1,
  byKid: [
    ...(oldDevices ? [{ kid: OLD_KID, label: 'old certificate', held: true, devices: oldDevices, entries: 28 }] : []),
    ...(newDevices ? [{ kid: NEW_KID, label: 'new certificate', held: true, devices: newDevices, entries: 28 }] : []),
  ],
  extraAttributes: [],
});

const t = (h: number, s: number) => `2026-11-23T09:${String(h).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}Z`;

function step(id: string, kind: string, title: string, status: StepReport['status'], start: number, dur: number, rest: Partial<StepReport> = {}): StepReport {
  return {
    id,
    kind,
    title,
    status,
    ...(status === 'not-run' ? {} : { startedAt: t(43, start), endedAt: t(43, start + dur / 1000), durationMs: dur }),
    targets: [],
    changes: [],
    rollback: [],
    notes: [],
    ...rest,
  };
}

const preflight = (): StepReport =>
  step('preflight', 'preflight', 'Preflight: reach every appliance and the directory, check certificates, take a census', 'ok', 0.5, 14, {
    targets: [
      {
        target: 'adc1',
        status: 'ok',
        message: `standalone; bound userDataEncryptionKey: ${OLD}`,
        changed: { mode: 'standalone', primary: 'https://192.0.2.11', bound: [OLD], oldCertkey: OLD, newCertkey: null, otpEncryption: 'ON', haSync: null, firmwareVersion: '14.1-25.56' },
      },
      {
        target: 'adc2',
        status: 'ok',
        message: `HA pair; bound userDataEncryptionKey: ${OLD}`,
        changed: { mode: 'ha', primary: 'https://192.0.2.21', bound: [OLD], oldCertkey: OLD, newCertkey: null, otpEncryption: 'ON', haSync: 'ENABLED' },
      },
      // A field no renderer should ever dump, standing for anything a future step might add.
      { target: 'directory', status: 'ok', message: '41 entries, 33 with a value: 36 device(s) under the old certificate', changed: { ...census(36, 0), debugPassphrase: PLANTED[0] } },
    ],
    notes: [{ target: 'directory', level: 'warn', message: '1 entr(ies) hold values that cannot be read; they are left as they are' }],
  });

const plan = {
  playbook: '/srv/playbooks/otp-cert-cutover.yaml',
  inventory: '/srv/inventories/prod.yaml',
  mode: 'auto',
  dryRun: false,
  appliances: [
    { name: 'adc1', facts: { mode: 'standalone', primary: 'https://192.0.2.11', bound: [OLD], oldCertkey: OLD, newCertkey: null, otpEncryption: 'ON', haSync: null }, warnings: [] },
    { name: 'adc2', facts: { mode: 'ha', primary: 'https://192.0.2.21', bound: [OLD], oldCertkey: OLD, newCertkey: null, otpEncryption: 'ON', haSync: 'ENABLED' }, warnings: [] },
  ],
  steps: [
    { id: 'preflight', title: 'Preflight', changes: [], warnings: [] },
    {
      id: 'import-certkey',
      title: 'Import the new certificate and key',
      changes: [
        { target: 'adc1', description: `upload and add certkey ${NEW}` },
        { target: 'adc2', description: `upload and add certkey ${NEW}` },
      ],
      warnings: [],
    },
    {
      id: 'rekey-directory',
      title: 'Re-encrypt the directory under the new certificate',
      changes: [{ target: 'directory', description: `re-encrypt 36 device(s) in 28 entr(ies) from KID ${OLD_KID} to ${NEW_KID}` }],
      warnings: ['1 unreadable value(s) will be left as they are'],
    },
  ],
  warnings: ['1 unreadable value(s) will be left as they are'],
  hash: '06a2f6763e4eb44e',
};

const base = (): Omit<RunReport, 'status' | 'steps' | 'actionsRequired'> => ({
  runId: '20261123T094330Z-dceb7f',
  playbook: '/srv/playbooks/otp-cert-cutover.yaml',
  inventory: '/srv/inventories/prod.yaml',
  planHash: '06a2f6763e4eb44e',
  dryRun: false,
  user: 'jdoe',
  host: 'jump01',
  startedAt: t(43, 0.5),
  attempts: 1,
  plan,
});

export function succeededReport(): RunReport {
  return {
    ...base(),
    status: 'succeeded',
    exitCode: 0,
    endedAt: t(44, 30.135),
    steps: [
      preflight(),
      step('import-certkey', 'import-certkey', 'Import the new certificate and key', 'ok', 0.53, 32, {
        targets: ['adc1', 'adc2'].map((a) => ({
          target: a,
          status: 'ok',
          message: `certkey ${NEW} added from ${NEW}-20261123T094309Z.pem, ${NEW}-20261123T094309Z.key and verified`,
          changed: { certkey: NEW, created: true, files: [`${NEW}-20261123T094309Z.pem`, `${NEW}-20261123T094309Z.key`] },
        })),
        changes: [{ id: 1, target: 'adc1', action: 'upload-file', data: { name: `${NEW}.key`, keyPem: `-----BEGIN PRIVATE KEY-----\n${PLANTED[2]}` }, done: true }],
      }),
      step('bind-new-key', 'bind-new-key', 'Bind the new key as userDataEncryptionKey (old one still bound)', 'ok', 0.56, 20, {
        targets: [
          {
            target: 'adc1',
            status: 'ok',
            message: `${NEW} bound next to ${OLD}; new registrations use it`,
            changed: { bound: [OLD, NEW], capability: 'multi' },
            bound: [OLD, NEW],
            capability: 'multi',
          },
          { target: 'adc2', status: 'skipped', message: `one binding at a time: ${NEW} is bound after re-encryption (swap)`, changed: { capability: 'single' }, capability: 'single' },
        ],
      }),
      step('rekey-directory', 'rekey-directory', 'Re-encrypt the directory under the new certificate', 'ok', 0.58, 48, {
        targets: [{ target: 'directory', status: 'ok', message: '33 fetched, 28 changed, 0 unchanged, 0 failed', changed: { fetched: 33, changed: 28, failed: 0, censusAfter: census(0, 36) } }],
        changes: [{ id: 2, target: 'directory', action: 'rekey', data: { totpSecretSample: PLANTED[1] }, done: true }],
      }),
      step('logon-check', 'logon-check', 'OTP logon check through every gateway (after-rekey)', 'ok', 0.63, 7900, {
        targets: [
          { target: 'adc1', status: 'ok', message: 'https://gw1.example.net: nfactor logon ok' },
          { target: 'adc2', status: 'skipped', message: 'the new key is not bound here yet (swap after re-encryption): checked at the end' },
        ],
      }),
      step('unbind-old-key', 'unbind-old-key', 'Unbind the old key (once no device needs it)', 'ok', 8.6, 27, {
        targets: [
          { target: 'adc1', status: 'ok', message: `${OLD} unbound (bound now: ${NEW})`, changed: { bound: [NEW] }, bound: [NEW] },
          { target: 'adc2', status: 'ok', message: `${OLD} unbound (bound now: none)`, changed: { bound: [] }, bound: [] },
        ],
      }),
      step('bind-new-key#2', 'bind-new-key', 'Bind the new key where the firmware holds one binding (swap)', 'ok', 8.63, 9, {
        targets: [
          { target: 'adc1', status: 'skipped', message: `${NEW} is already bound` },
          { target: 'adc2', status: 'ok', message: `${NEW} bound as userDataEncryptionKey (bound now: ${NEW})`, changed: { bound: [NEW] }, bound: [NEW] },
        ],
      }),
      step('logon-check#2', 'logon-check', 'OTP logon check through every gateway (final)', 'ok', 8.64, 29_980, {
        targets: [
          { target: 'adc1', status: 'ok', message: 'https://gw1.example.net: nfactor logon ok' },
          { target: 'adc2', status: 'ok', message: 'https://gw2.example.net: nfactor logon ok' },
        ],
      }),
      step('save-config', 'save-config', 'Save the configuration', 'ok', 38.62, 30, {
        targets: ['adc1', 'adc2'].map((a) => ({ target: a, status: 'ok', message: 'configuration saved at Mon Nov 23 09:44:30 2026' })),
      }),
    ],
    actionsRequired: [],
  };
}

/** The directory write failed on a hostile entry, and the rollback could not unbind on adc2. */
export function incompleteReport(): RunReport {
  const ok = succeededReport();
  const [pre, imp, bind] = ok.steps;
  const lost =
    'Bind the new key as userDataEncryptionKey (old one still bound) on adc2: undo by hand — adc2: DELETE vpnglobal_sslcertkey_binding failed: errorcode 349 (HTTP 599): HA propagation failed';
  return {
    ...base(),
    status: 'rollback-incomplete',
    exitCode: 3,
    endedAt: t(43, 2.1),
    message: `Re-encrypt the directory under the new certificate: modify ${HOSTILE_DN}: LDAP 50 insufficientAccessRights (no write access) — the rollback did not finish: a person must act`,
    steps: [
      pre,
      {
        ...imp,
        rollback: [
          { target: 'adc1', status: 'undone', message: `certkey ${NEW} deleted`, certkeyDeleted: NEW, at: t(43, 1.9) },
          { target: 'adc2', status: 'undone', message: `certkey ${NEW} deleted`, certkeyDeleted: NEW, at: t(43, 1.9) },
        ],
      },
      {
        ...bind,
        targets: [
          { target: 'adc1', status: 'ok', message: `${NEW} bound next to ${OLD}; new registrations use it`, changed: { bound: [OLD, NEW] }, bound: [OLD, NEW] },
          { target: 'adc2', status: 'ok', message: `${NEW} bound next to ${OLD}; new registrations use it`, changed: { bound: [OLD, NEW] }, bound: [OLD, NEW] },
        ],
        rollback: [
          { target: 'adc1', status: 'undone', message: `${NEW} unbound (bound now: ${OLD})`, bound: [OLD], at: t(43, 1.5) },
          { target: 'adc2', status: 'failed', message: 'adc2: DELETE vpnglobal_sslcertkey_binding failed: errorcode 349 (HTTP 599): HA propagation failed', at: t(43, 1.5), codes: { nitro: [349] } },
        ],
      },
      step('rekey-directory', 'rekey-directory', 'Re-encrypt the directory under the new certificate', 'failed', 0.58, 48, {
        error: `modify ${HOSTILE_DN}: LDAP 50 insufficientAccessRights (no write access)`,
        errorCodes: { ldap: [{ code: 50, name: 'insufficientAccessRights' }] },
        targets: [
          {
            target: 'directory',
            status: 'failed',
            message: `modify ${HOSTILE_DN}: LDAP 50 insufficientAccessRights (no write access)`,
            codes: { ldap: [{ code: 50, name: 'insufficientAccessRights' }] },
          },
        ],
        rollback: [{ target: 'directory', status: 'undone', message: '12 original value(s) put back from the backup', at: t(43, 1.2) }],
      }),
      step('logon-check', 'logon-check', 'OTP logon check through every gateway (after-rekey)', 'not-run', 0, 0),
      step('save-config', 'save-config', 'Save the configuration', 'not-run', 0, 0),
    ],
    actionsRequired: [lost],
  };
}
