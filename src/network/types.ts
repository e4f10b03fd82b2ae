export interface InterfaceInfo {
  name: string;
  mac: string;
  /** 'up', 'down', 'unknown' (loopback), 'lowerlayerdown'… as the OS reports it. */
  operstate: string;
  ipv4: string[];
  internal: boolean;
}

export interface NetworkSnapshot {
  interfaces: InterfaceInfo[];
  /** Name of the interface the default route leaves through, if there is one. */
  defaultRouteInterface: string | undefined;
}

/**
 * Reads the network now. `pollIntervalMs`: the reader is cheap enough to poll at this fixed
 * interval while waiting (Linux); without it the wait backs off (each read costs more).
 */
export type ReadNetwork = (() => Promise<NetworkSnapshot>) & { pollIntervalMs?: number };

export interface EniVerdict {
  ready: boolean;
  /** The customer ENI when ready. */
  eni?: { name: string; mac: string; address: string };
  /** When not ready: what is missing, in words for the progress line and timeout message. */
  reason: string;
}
