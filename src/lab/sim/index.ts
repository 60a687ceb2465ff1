// The ADC simulator: NITRO subset, HA pairs, both firmware behaviours, the gateway logon, faults.
export { startSimulator } from './simulator.js';
export type { SimApplianceConfig, SimDirectoryConfig, SimulatorConfig, RunningAppliance, RunningSimulator, FaultSpec, SimGatewayOptions } from './types.js';
export { injectFault, clearFaults, failover, labState, setOtpFactor, setGatewayOptions } from './control-client.js';
export type { NodeStateDump } from './control.js';
export { FIRMWARE_PROFILES, PROFILE_NAMES, firmwareProfile } from './profiles.js';
export type { FirmwareProfile } from './profiles.js';
