import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Open connections kept at most, well under a 1,024 file-descriptor limit (the agent also needs
 * descriptors for files, logs and child processes).
 */
export const MAX_CONNECTIONS = 256;

/**
 * Past `max` open connections, the oldest idle ones (no request in progress) are closed first,
 * so a flood of idle sockets cannot use up the process's file descriptors and lock out a good
 * client, whose connection is always the newest.
 */
export function capConnections(server: Server, max: number): void {
  // Insertion order is age order.
  const open = new Set<Socket>();
  const busy = new WeakSet<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    let excess = open.size - max;
    if (excess <= 0) return;
    for (const candidate of open) {
      if (excess <= 0) break;
      if (candidate === socket || busy.has(candidate)) continue;
      open.delete(candidate);
      candidate.destroy();
      excess -= 1;
    }
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    busy.add(socket);
    res.once('close', () => busy.delete(socket));
  });
}
