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

export type ReadNetwork = () => Promise<NetworkSnapshot>;

export interface EniVerdict {
  ready: boolean;
  /** The customer ENI when ready. */
  eni?: { name: string; mac: string; address: string };
  /** When not ready: what is missing, in words for the progress line and timeout message. */
  reason: string;
}
