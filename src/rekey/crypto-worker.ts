// One thread of the crypto pool (crypto-pool.ts): decides, re-encrypts and checks a group's
// values with the same prepareJob code the engine runs in its own thread, and hands back the
// plans with the pre-write check's verdicts. It never touches the directory or the backup.
import { parentPort, workerData } from 'node:worker_threads';
import type { OtpKeyMaterial } from '../otp/index.js';
import { prepareJob, type RekeyJob } from './job.js';
import { planAndCheck, type PlanRequest } from './plan-check.js';

/** Structured cloning turns Buffers into plain Uint8Arrays: make them Buffers again (same bytes). */
function revive(km: OtpKeyMaterial): OtpKeyMaterial {
  const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return { ...km, kid: buf(km.kid), aesKey: buf(km.aesKey), certDer: buf(km.certDer) };
}

function reviveJob(job: RekeyJob): RekeyJob {
  switch (job.kind) {
    case 'rekey':
      return { ...job, from: job.from.map(revive), to: revive(job.to) };
    case 'encrypt':
      return { ...job, to: revive(job.to) };
    case 'decrypt':
      return { ...job, from: job.from.map(revive) };
  }
}

const job = prepareJob(reviveJob((workerData as { job: RekeyJob }).job));
parentPort!.on('message', (req: PlanRequest) => {
  try {
    parentPort!.postMessage({ id: req.id, ...planAndCheck(job, req.values) });
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) });
  }
});
