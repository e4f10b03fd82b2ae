import { realpathSync } from 'node:fs';
import { loadKoffi } from '../loadKoffi.js';
import { bindWindowsApi, type WindowsApi } from './windowsApi.js';
import { parseSecurityDescriptor } from './securityDescriptor.js';
import type { SecurityReader } from '../../trust/checkWindowsSidTrust.js';

export type WindowsApiLoad = { ok: true; api: WindowsApi; file: string } | { ok: false; reason: string };

let bound: WindowsApiLoad | undefined;

/** The native Windows calls for this process, bound on first use; a failure is a value with its reason. */
export function windowsApi(): WindowsApiLoad {
  if (bound) return bound;
  const koffi = loadKoffi();
  if (!koffi.ok) bound = koffi;
  else {
    try {
      bound = { ok: true, api: bindWindowsApi(koffi.koffi), file: koffi.file };
    } catch (error) {
      bound = { ok: false, reason: `advapi32/iphlpapi did not bind: ${(error as Error).message}` };
    }
  }
  return bound;
}

/** Win32 errors that mean the path is not there (file, path not found). */
const MISSING = /Win32 error (2|3)\b/;

/** The rule's reader over the native API: parsed descriptors, names cached per process (messages only). */
export function nativeSecurityReader(api: WindowsApi): SecurityReader {
  const names = new Map<string, string | undefined>();
  return {
    read: async (target) => {
      try {
        return parseSecurityDescriptor(api.readSecurity(target));
      } catch (error) {
        if (MISSING.test((error as Error).message)) Object.assign(error as Error, { missing: true });
        throw error;
      }
    },
    name: (sid) => {
      if (!names.has(sid)) names.set(sid, api.accountName(sid));
      return names.get(sid);
    },
    realpath: async (target) => realpathSync.native(target),
  };
}
