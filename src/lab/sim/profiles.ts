// Firmware profiles: the documented ways real appliances differ that matter to a cutover, one
// set per simulated appliance. docs/fidelity.md says which difference rests on which source and
// which details are the lab's own guess; the product must work (or refuse cleanly) on every one.

export interface FirmwareProfile {
  name: string;
  /** What `GET nsversion` reports. The pairing of versions with behaviours is illustrative. */
  version: string;
  /** Several userDataEncryptionKey bindings at once (current docs) or one (older builds, per a reader's report). */
  userDataKeys: 'multi' | 'single';
  /**
   * How a userDataEncryptionKey binding appears in the vpnglobal_sslcertkey_binding GET:
   * 'udek' — {userdataencryptionkey}; 'with-certkeyname' — {certkeyname, userdataencryptionkey}
   * (the Terraform provider binds and finds rows by certkeyname); 'no-echo' — {certkeyname} only
   * (the Terraform provider's note that the GET does not always echo userdataencryptionkey).
   */
  bindingRows: 'udek' | 'with-certkeyname' | 'no-echo';
  /** Classic /cgi/login refuses a POST without Origin (NSC_VPNERR=4001), builds since 13.1-63. Read by the gateway. */
  classicRequiresOrigin: boolean;
  /**
   * What a write on the HA secondary answers. The reference lists 368 ("not a primary node") as
   * the refusal and 1028 as the warning that a change will not propagate; no public capture shows
   * which a real secondary sends, so profiles differ and the client must handle both.
   */
  secondaryWriteCode: 368 | 1028;
}

export const FIRMWARE_PROFILES: Readonly<Record<string, FirmwareProfile>> = {
  multi: {
    name: 'multi',
    version: 'NetScaler NS13.1: Build 49.15.nc, Date: Jul 10 2023, 10:31:13   (64-bit)',
    userDataKeys: 'multi',
    bindingRows: 'udek',
    classicRequiresOrigin: false,
    secondaryWriteCode: 1028,
  },
  single: {
    name: 'single',
    version: 'NetScaler NS13.0: Build 79.64.nc, Date: Mar 27 2021, 04:51:26   (64-bit)',
    userDataKeys: 'single',
    bindingRows: 'udek',
    classicRequiresOrigin: false,
    secondaryWriteCode: 1028,
  },
  'rows-certkeyname': {
    name: 'rows-certkeyname',
    version: 'NetScaler NS14.1: Build 25.56.nc, Date: Jun 28 2024, 02:54:46   (64-bit)',
    userDataKeys: 'multi',
    bindingRows: 'with-certkeyname',
    classicRequiresOrigin: true,
    secondaryWriteCode: 368,
  },
  'rows-no-echo': {
    name: 'rows-no-echo',
    version: 'NetScaler NS14.1: Build 34.42.nc, Date: Oct 3 2024, 11:07:02   (64-bit)',
    userDataKeys: 'multi',
    bindingRows: 'no-echo',
    classicRequiresOrigin: true,
    secondaryWriteCode: 368,
  },
};

export const PROFILE_NAMES = Object.keys(FIRMWARE_PROFILES);

export function firmwareProfile(name: string): FirmwareProfile {
  const p = FIRMWARE_PROFILES[name];
  if (!p) throw new Error(`unknown firmware profile "${name}" (known: ${PROFILE_NAMES.join(', ')})`);
  return p;
}
