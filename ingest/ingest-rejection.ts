import { ProgImageError } from '../lib/errors.ts';
import type { RejectionReason } from '../lib/events/outcomes.ts';
import type { Tenant } from '../lib/ids.ts';

/**
 * An ingest request that is not taken in for any tenant: nothing is stored
 * for it, and its ingest.rejected outcome says why. Retrying cannot help.
 */
export class IngestRejection extends ProgImageError {
  constructor(
    readonly reason: RejectionReason,
    message: string,
    /** The tenant the request proved before it was refused (an id it may not use), if it got that far. */
    readonly provenTenant: Tenant | null = null,
  ) {
    super(message, { retriable: false });
  }
}
