import { connect } from 'node:net';
import type { ClamdConfig } from '../config/index.ts';
import { DependencyUnavailableError } from '../errors.ts';

/**
 * Sends one command to clamd ("zRELOAD\0", NUL-terminated form) and resolves
 * with its reply, e.g. "RELOADING" or "ClamAV 1.4.6/27543/…".
 */
export function clamdCommand(config: ClamdConfig, command: 'RELOAD' | 'VERSION'): Promise<string> {
  const where = `clamd at ${config.host}:${config.port}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: config.host, port: config.port });
    const chunks: Buffer[] = [];
    socket.setTimeout(config.timeoutMs, () => {
      socket.destroy(new Error(`no answer to ${command} within ${config.timeoutMs} ms`));
    });
    socket.on('connect', () => socket.end(`z${command}\0`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      reject(new DependencyUnavailableError(`${where} failed: ${error.message}`, error));
    });
    socket.on('close', (hadError) => {
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8').replace(/\0$/, '').trim());
    });
  });
}
