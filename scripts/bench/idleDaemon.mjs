// The daemon idle after it is ready: RSS and CPU over a window (60 s by default), against an
// idle `node` process holding one timer, measured the same way in the same run.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { sandbox, startAgent } from './lib.mjs';

const TICKS = 100; // USER_HZ on Linux

async function sample(pid) {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const cpuTicks = Number(stat[11]) + Number(stat[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpuTicks, rssMb: rssKb / 1024 };
}

async function watch(pid, seconds) {
  const first = await sample(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const last = await sample(pid);
  return { rssMb: last.rssMb, cpuPercent: ((last.cpuTicks - first.cpuTicks) / TICKS / seconds) * 100 };
}

export async function run({ seconds = 60 } = {}) {
  const { dir, cleanup } = await sandbox();
  const { agent } = await startAgent(dir);
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const [a, b] = await Promise.all([watch(agent.child.pid, seconds), watch(idle.pid, seconds)]);
    return {
      scenario: `idle daemon, ${seconds}s after ready`,
      unit: 'MB RSS / % CPU',
      target: 'RSS ≤ 80 MB, CPU ≤ 1 %',
      candidate: { median: a.rssMb, cpuPercent: a.cpuPercent },
      baseline: { median: b.rssMb, cpuPercent: b.cpuPercent },
      ratio: a.rssMb / b.rssMb,
    };
  } finally {
    idle.kill();
    await agent.stop();
    await cleanup();
  }
}
