import type { Koffi } from '../loadKoffi.js';
import { parseSid, sidBytes } from './sid.js';

/**
 * The Win32 calls the agent makes, bound through koffi. Every call hands back bytes or plain
 * values; the parsing and every decision live in plain TypeScript (securityDescriptor.ts,
 * tcpTable.ts), tested with real bytes on Linux. Nothing here runs except on Windows (or Wine).
 */
export interface WindowsApi {
  /** The self-relative security descriptor (owner + DACL) of a file or folder. Throws with the Win32 error. */
  readSecurity(path: string): Uint8Array;
  /** Replaces the DACL of a file or folder with `acl`, protected from inheritance. Throws with the Win32 error. */
  setProtectedDacl(path: string, acl: Uint8Array): void;
  /** The user SID of this process's token. */
  currentUser(): string;
  /** `DOMAIN\name` for a SID, or undefined when it does not resolve. */
  accountName(sid: string): string | undefined;
  /** The SID for an account name, or undefined when it does not resolve. */
  accountSid(name: string): string | undefined;
  /** GetExtendedTcpTable(AF_INET, TCP_TABLE_OWNER_PID_ALL): the raw MIB_TCPTABLE_OWNER_PID. */
  tcpTable(): Uint8Array;
  /** The user SID and enabled group SIDs (not deny-only) of a process, or the reason they cannot be read. */
  processUser(pid: number): { user: string; groups: string[] } | { error: string };
}

const SE_FILE_OBJECT = 1;
const OWNER_SECURITY_INFORMATION = 0x1;
const DACL_SECURITY_INFORMATION = 0x4;
const PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000;
const TOKEN_QUERY = 0x8;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const TOKEN_USER = 1;
const TOKEN_GROUPS = 2;
const AF_INET = 2;
const TCP_TABLE_OWNER_PID_ALL = 5;
const ERROR_INSUFFICIENT_BUFFER = 122;
const SE_GROUP_ENABLED = 0x4;
const SE_GROUP_USE_FOR_DENY_ONLY = 0x10;

/** Text for a Win32 error code, for messages (the common ones by name). */
export function win32Error(code: number): string {
  const names: Record<number, string> = { 2: 'file not found', 3: 'path not found', 5: 'access denied', 87: 'invalid parameter', 1332: 'no mapping between account names and security IDs' };
  return `Win32 error ${code}${names[code] ? ` (${names[code]})` : ''}`;
}

/** Reads the SID a pointer inside `buffer` points at (TOKEN_USER and TOKEN_GROUPS hold pointers into themselves). */
function sidAt(koffi: Koffi, pointer: unknown): string {
  const head = new Uint8Array(koffi.view(pointer, 8));
  return parseSid(new Uint8Array(koffi.view(pointer, 8 + 4 * head[1]!))).sid;
}

export function bindWindowsApi(koffi: Koffi): WindowsApi {
  const advapi32 = koffi.load('advapi32.dll');
  const kernel32 = koffi.load('kernel32.dll');
  const iphlpapi = koffi.load('iphlpapi.dll');
  const GetNamedSecurityInfoW = advapi32.func('uint32 __stdcall GetNamedSecurityInfoW(str16 name, int type, uint32 info, _Out_ void **owner, _Out_ void **group, _Out_ void **dacl, _Out_ void **sacl, _Out_ void **sd)');
  const SetNamedSecurityInfoW = advapi32.func('uint32 __stdcall SetNamedSecurityInfoW(str16 name, int type, uint32 info, void *owner, void *group, uint8_t *dacl, void *sacl)');
  const GetSecurityDescriptorLength = advapi32.func('uint32 __stdcall GetSecurityDescriptorLength(void *sd)');
  const OpenProcessToken = advapi32.func('bool __stdcall OpenProcessToken(void *process, uint32 access, _Out_ void **token)');
  const GetTokenInformation = advapi32.func('bool __stdcall GetTokenInformation(void *token, int cls, _Out_ uint8_t *buf, uint32 len, _Out_ uint32 *returned)');
  const LookupAccountSidW = advapi32.func('bool __stdcall LookupAccountSidW(str16 system, uint8_t *sid, _Out_ uint16_t *name, _Inout_ uint32 *nameLength, _Out_ uint16_t *domain, _Inout_ uint32 *domainLength, _Out_ int *use)');
  const LookupAccountNameW = advapi32.func('bool __stdcall LookupAccountNameW(str16 system, str16 name, _Out_ uint8_t *sid, _Inout_ uint32 *sidLength, _Out_ uint16_t *domain, _Inout_ uint32 *domainLength, _Out_ int *use)');
  const LocalFree = kernel32.func('void * __stdcall LocalFree(void *memory)');
  const CloseHandle = kernel32.func('bool __stdcall CloseHandle(void *handle)');
  const GetCurrentProcess = kernel32.func('void * __stdcall GetCurrentProcess()');
  const OpenProcess = kernel32.func('void * __stdcall OpenProcess(uint32 access, bool inherit, uint32 pid)');
  const GetLastError = kernel32.func('uint32 __stdcall GetLastError()');
  const GetExtendedTcpTable = iphlpapi.func('uint32 __stdcall GetExtendedTcpTable(_Out_ uint8_t *table, _Inout_ uint32 *size, bool order, uint32 family, int tableClass, uint32 reserved)');

  const tokenInfo = (token: unknown, cls: number): Buffer => {
    const returned = [0];
    let buffer = Buffer.alloc(256);
    if (!GetTokenInformation(token, cls, buffer, buffer.length, returned)) {
      const code = GetLastError();
      if (code !== ERROR_INSUFFICIENT_BUFFER) throw new Error(`GetTokenInformation: ${win32Error(code)}`);
      buffer = Buffer.alloc(returned[0]!);
      if (!GetTokenInformation(token, cls, buffer, buffer.length, returned)) throw new Error(`GetTokenInformation: ${win32Error(GetLastError())}`);
    }
    return buffer;
  };
  // TOKEN_USER is a SID_AND_ATTRIBUTES: a pointer (into the same buffer) and a DWORD.
  const tokenUser = (token: unknown): string => sidAt(koffi, koffi.decode(tokenInfo(token, TOKEN_USER), 'void *'));
  // TOKEN_GROUPS: a DWORD count, then (8-aligned) SID_AND_ATTRIBUTES of 16 bytes each. Only
  // enabled groups count; a deny-only one (an admin's group in a filtered UAC token) does not.
  const tokenGroups = (token: unknown): string[] => {
    const buffer = tokenInfo(token, TOKEN_GROUPS);
    const count = buffer.readUInt32LE(0);
    const groups: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const attributes = buffer.readUInt32LE(8 + 16 * i + 8);
      if (attributes & SE_GROUP_ENABLED && !(attributes & SE_GROUP_USE_FOR_DENY_ONLY)) groups.push(sidAt(koffi, koffi.decode(buffer, 8 + 16 * i, 'void *')));
    }
    return groups;
  };
  const text = (chars: Uint16Array, length: number): string => Buffer.from(chars.buffer, chars.byteOffset, length * 2).toString('utf16le');

  return {
    readSecurity(path) {
      const owner = [null];
      const group = [null];
      const dacl = [null];
      const sacl = [null];
      const descriptor = [null];
      const code = GetNamedSecurityInfoW(path, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, owner, group, dacl, sacl, descriptor);
      if (code !== 0) throw new Error(`GetNamedSecurityInfoW: ${win32Error(code)}`);
      try {
        const length = GetSecurityDescriptorLength(descriptor[0]);
        return new Uint8Array(koffi.view(descriptor[0], length)).slice();
      } finally {
        LocalFree(descriptor[0]);
      }
    },
    setProtectedDacl(path, acl) {
      const code = SetNamedSecurityInfoW(path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, null, null, acl, null);
      if (code !== 0) throw new Error(`SetNamedSecurityInfoW: ${win32Error(code)}`);
    },
    currentUser() {
      const token = [null];
      if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, token)) throw new Error(`OpenProcessToken: ${win32Error(GetLastError())}`);
      try {
        return tokenUser(token[0]);
      } finally {
        CloseHandle(token[0]);
      }
    },
    accountName(sid) {
      const name = new Uint16Array(256);
      const domain = new Uint16Array(256);
      const nameLength = [name.length];
      const domainLength = [domain.length];
      if (!LookupAccountSidW(null, sidBytes(sid), name, nameLength, domain, domainLength, [0])) return undefined;
      const account = text(name, nameLength[0]!);
      const where = text(domain, domainLength[0]!);
      return where ? `${where}\\${account}` : account;
    },
    accountSid(account) {
      const sid = new Uint8Array(68);
      const domain = new Uint16Array(256);
      const sidLength = [sid.length];
      if (!LookupAccountNameW(null, account, sid, sidLength, domain, [domain.length], [0])) return undefined;
      return parseSid(sid.subarray(0, sidLength[0])).sid;
    },
    tcpTable() {
      // The table grows between the two calls when connections open: retry a few times with room to spare.
      const size = [0];
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const buffer = new Uint8Array(size[0]! + 4096);
        size[0] = buffer.length;
        const code = GetExtendedTcpTable(buffer, size, false, AF_INET, TCP_TABLE_OWNER_PID_ALL, 0);
        if (code === 0) return buffer.subarray(0, size[0]);
        if (code !== ERROR_INSUFFICIENT_BUFFER) throw new Error(`GetExtendedTcpTable: ${win32Error(code)}`);
      }
      throw new Error('GetExtendedTcpTable: the table kept growing');
    },
    processUser(pid) {
      const process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, pid);
      if (!process) return { error: `OpenProcess(${pid}): ${win32Error(GetLastError())}` };
      try {
        const token = [null];
        if (!OpenProcessToken(process, TOKEN_QUERY, token)) return { error: `OpenProcessToken(${pid}): ${win32Error(GetLastError())}` };
        try {
          return { user: tokenUser(token[0]), groups: tokenGroups(token[0]) };
        } finally {
          CloseHandle(token[0]);
        }
      } finally {
        CloseHandle(process);
      }
    },
  };
}
