/** Public surface of the service part: socket units that keep git's socket path listening. */

export { retireSocketUnit, type SystemctlResult, systemctl, userManager } from './systemctl.js';
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
