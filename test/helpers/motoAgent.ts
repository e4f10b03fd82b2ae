import { startMoto, ROLE_ARN, type MotoServer } from './moto.js';
import { startSandboxAgent, type SandboxAgent, type SandboxAgentOptions } from './daemon.js';
import { makeSandbox } from './sandbox.js';

export interface MotoAgent {
  moto: MotoServer;
  sandbox: { dir: string; cleanup: () => Promise<void> };
  agent: SandboxAgent;
}

/**
 * moto's STS plus a sandbox agent minting from it (long validity: client tests are about the
 * path, not expiry); nothing is left running when the agent fails to start.
 */
export async function startMotoAgent(options: Omit<SandboxAgentOptions, 'dir' | 'stsEndpoint' | 'roleArn'> = {}): Promise<MotoAgent> {
  const moto = await startMoto();
  const sandbox = await makeSandbox();
  try {
    const agent = await startSandboxAgent({ form: 'static', refreshInterval: '5s', validity: '2m', ...options, dir: sandbox.dir, stsEndpoint: moto.url, roleArn: ROLE_ARN });
    return { moto, sandbox, agent };
  } catch (error) {
    await moto.stop();
    await sandbox.cleanup();
    throw error;
  }
}

/** Stops what startMotoAgent started (each part that exists). */
export async function stopMotoAgent(rig: Partial<MotoAgent> | undefined): Promise<void> {
  await rig?.agent?.stop();
  await rig?.moto?.stop();
  await rig?.sandbox?.cleanup();
}
