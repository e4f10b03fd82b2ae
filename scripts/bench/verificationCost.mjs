// What verifyNewCredentials costs per generation: the delay from a rotation landing on disk
// (rename, so the settle rule adds nothing) to the endpoint serving it, for an agent that signs
// one STS GetCallerIdentity with each new set (moto's STS on loopback) against the same run's
// agent with verification off. Rotations alternate between the two, so machine noise hits both.
import { fileURLToPath } from 'node:url';
import { sandbox, startAgent, startMoto, stats } from './lib.mjs';
import { releaseClient, rotate } from './rotationPickup.mjs';

export async function run({ rotations = 40 } = {}) {
  // This moto answers any signed GetCallerIdentity (startMoto), so made-up sets verify; the
  // call's cost (connection, signing, moto's answer) is what is measured.
  const moto = await startMoto();
  const motoUrl = moto.url;
  const on = await sandbox();
  const off = await sandbox();
  let verifying;
  let plain;
  try {
    verifying = await startAgent(on.dir, [], { APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'true', AWS_ENDPOINT_URL_STS: motoUrl, AWS_REGION: 'us-east-1' });
    plain = await startAgent(off.dir, [], { APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'false' });
    const withCheck = [];
    const without = [];
    for (let i = 0; i < rotations; i += 1) {
      withCheck.push(await rotate(verifying.env.AWS_SHARED_CREDENTIALS_FILE, verifying.discovery.credentialsUrl, verifying.token, `v${i}`));
      without.push(await rotate(plain.env.AWS_SHARED_CREDENTIALS_FILE, plain.discovery.credentialsUrl, plain.token, `p${i}`));
    }
    const status = await (await fetch(`${verifying.discovery.url}/v1/status`, { headers: { authorization: verifying.token } })).json();
    if (status.verification?.verified < rotations) throw new Error(`only ${status.verification?.verified} of ${rotations} sets were verified: ${JSON.stringify(status.verification)}`);
    const candidate = stats(withCheck);
    const baseline = stats(without);
    return {
      scenario: `verification cost per generation: ${rotations} rename rotations, disk -> served, verifyNewCredentials on (moto STS) (baseline: off, same run)`,
      unit: 'ms',
      target: 'one STS call per generation; p99 ≤ 1 s',
      candidate,
      baseline,
      ratio: candidate.median / baseline.median,
      costMedianMs: candidate.median - baseline.median,
    };
  } finally {
    releaseClient();
    await verifying?.agent.stop();
    await plain?.agent.stop();
    moto.stop();
    await on.cleanup();
    await off.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--rotations');
  console.log(JSON.stringify(await run({ rotations: i === -1 ? 40 : Number(process.argv[i + 1]) }), null, 2));
}
