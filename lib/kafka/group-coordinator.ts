import type { Admin } from 'kafkajs';
import { waitUntil } from '../wait.ts';

/** How long a consumer waits for its group's coordinator before its service gives up starting. */
const COORDINATOR_TIMEOUT_MS = 120_000;
/** Pause between two lookups; each lookup itself retries with kafkajs's growing backoff for several seconds. */
const LOOKUP_INTERVAL_MS = 1_000;

/**
 * Resolves once the coordinator of `groupId` answers for it. On a new cluster
 * the first group request creates the offsets topic (50 partitions), and until
 * its partitions have leaders every coordinator lookup fails. kafkajs's own
 * join gives up on that after a few seconds with a non-retriable error
 * (KafkaJSGroupCoordinatorNotFound) that it does not restart from, so the
 * consumer waits here first, for as long as a settling cluster takes.
 */
export async function waitForGroupCoordinator(admin: Admin, groupId: string): Promise<void> {
  await waitUntil(
    async () => {
      await admin.describeGroups([groupId]);
      return true;
    },
    { timeoutMs: COORDINATOR_TIMEOUT_MS, intervalMs: LOOKUP_INTERVAL_MS, description: `the coordinator of consumer group ${groupId}` },
  );
}
