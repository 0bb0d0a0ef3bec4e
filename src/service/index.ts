/** Public surface of the service part: socket units that keep git's socket path listening. */

export {
  type InstalledUnits,
  installUnits,
  removeUnits,
  retireSocketUnit,
  ServiceError,
  socketUnitState,
  stopService,
  unitDir,
  unitsInstalled,
  unitsOf,
} from './install.js';
export { decideMode, type ModeChoice, type ModeInputs, type MonitorMode } from './mode.js';
export { type SystemctlResult, systemctl, userManager } from './systemctl.js';
export {
  escapePath,
  execWord,
  SOCKET_UNIT_ENV,
  type UnitFiles,
  type UnitSpec,
  unitBaseName,
  unitFiles,
  unitSafe,
} from './units.js';
