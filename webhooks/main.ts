import { runMain } from '../lib/service/host.ts';
import { webhookDelivery } from './service.ts';

await runMain('webhooks', [webhookDelivery]);
