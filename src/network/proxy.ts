/**
 * The agent's own HTTP(S) calls (STS probe, doctor, simulate) honour the proxy variables every
 * AWS SDK and curl honour: HTTPS_PROXY / HTTP_PROXY / NO_PROXY, in either letter case (lower
 * case wins, as in curl). The tunnelling itself is done by the maintained proxy-agent
 * libraries (https-proxy-agent: CONNECT; http-proxy-agent: absolute-URI requests), loaded only
 * when a proxy applies.
 */
import type { Agent } from 'node:http';

export interface ProxyVariables {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
}

type Env = Readonly<Record<string, string | undefined>>;
const pick = (env: Env, name: string): string | undefined => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;

export function proxyVariables(env: Env): ProxyVariables {
  const httpProxy = pick(env, 'http_proxy');
  const httpsProxy = pick(env, 'https_proxy');
  const noProxy = pick(env, 'no_proxy');
  return { ...(httpProxy ? { httpProxy } : {}), ...(httpsProxy ? { httpsProxy } : {}), ...(noProxy ? { noProxy } : {}) };
}

/**
 * Whether NO_PROXY exempts the host: `*`, or an entry equal to the host or a domain suffix of
 * it (`example.com` and `.example.com` both match `sts.example.com`), with an optional `:port`.
 * Addresses match literally (no CIDR), as in most SDKs.
 */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((raw) => {
      if (raw === '*') return true;
      const entry = raw.toLowerCase();
      // [v6]:port, host:port, or a bare IPv6 address (more than one colon, no port).
      const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? (entry.split(':').length > 2 ? [entry, entry] : /^(.*?)(?::(\d+))?$/.exec(entry)!);
      const name = match[1]!.replace(/^\*?\./, '');
      if (match[2] && match[2] !== port) return false;
      return host === name || host.endsWith(`.${name}`);
    });
}

/** The proxy URL for a request to `url`, or undefined for a direct connection. */
export function proxyFor(url: URL, vars: ProxyVariables): string | undefined {
  const proxy = url.protocol === 'https:' ? (vars.httpsProxy ?? vars.httpProxy) : vars.httpProxy;
  if (!proxy || bypassesProxy(url, vars.noProxy)) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
}

/** An http.Agent that sends requests to `url` through its proxy, or undefined when none applies. */
export async function proxyAgentFor(url: URL, env: Env): Promise<{ agent: Agent; proxy: string } | undefined> {
  const proxy = proxyFor(url, proxyVariables(env));
  if (!proxy) return undefined;
  if (url.protocol === 'https:') {
    const { HttpsProxyAgent } = await import('https-proxy-agent');
    return { agent: new HttpsProxyAgent(proxy), proxy };
  }
  const { HttpProxyAgent } = await import('http-proxy-agent');
  return { agent: new HttpProxyAgent(proxy), proxy };
}


/** Where a proxy is, without credentials in it, for messages. */
export const describeProxy = (proxy: string): string => {
  try {
    const url = new URL(proxy);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'the configured proxy';
  }
};
