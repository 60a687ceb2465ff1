// The OTP keys a gateway can use right now: the certkeys bound as userDataEncryptionKey, read
// from the files on the node that serves the VIP (the primary). A key whose files that node does
// not have (no HA file sync after a failover) is unusable there, as on the appliance.
import { keyMaterialFromPem, type OtpKeyMaterial } from '../../../otp/index.js';
import type { SimNode } from '../appliance-state.js';
import { pkcs1Pem } from '../certkey-parse.js';
import { loadCertKey } from '../res-sslcertkey.js';

export interface GatewayKeys {
  /** In bind order: the last one is the newest. */
  usable: { certkey: string; km: OtpKeyMaterial }[];
  unusable: { certkey: string; reason: string }[];
}

export function gatewayKeys(node: SimNode): GatewayKeys {
  const serving = node.primary();
  const out: GatewayKeys = { usable: [], unusable: [] };
  for (const name of serving.config.userDataKeys()) {
    const rec = serving.config.certkeys.get(name);
    try {
      if (!rec) throw new Error('certkey missing');
      const parsed = loadCertKey(serving, rec);
      if (!parsed.key) throw new Error('certkey has no key');
      out.usable.push({ certkey: name, km: keyMaterialFromPem(parsed.x509.toString(), pkcs1Pem(parsed.key), { allowExpired: true }) });
    } catch (err) {
      out.unusable.push({ certkey: name, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}
