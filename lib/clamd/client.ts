import NodeClam from 'clamscan';
import type { ClamdConfig } from '../config/index.ts';

/**
 * A clamscan client that talks to clamd over TCP only: no local binary, no
 * fallback, so a scan can never silently happen some other way. init() sends
 * PING and rejects unless clamd answers PONG.
 */
export async function connectClamd(config: ClamdConfig): Promise<NodeClam> {
  return new NodeClam().init({
    clamscan: { active: false },
    clamdscan: {
      host: config.host,
      port: config.port,
      timeout: config.timeoutMs,
      localFallback: false,
      active: true,
    },
    preference: 'clamdscan',
  });
}
