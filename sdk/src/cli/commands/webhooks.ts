import type { Webhook, WebhookDeliveryState, WebhookEventType, Webhooks } from '../../webhooks.ts';
import { type Command, type CommandContext, printJson, printLine, stringValue } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';

const EVENT_TYPES: readonly WebhookEventType[] = ['image.ready', 'image.failed', 'image.infected', 'image.deleted', 'ingest.rejected'];
const STATES: readonly WebhookDeliveryState[] = ['pending', 'delivered', 'failed'];

type Action = (webhooks: Webhooks, args: readonly string[], context: CommandContext) => Promise<unknown>;

/** The arguments an action takes, exactly. */
function expect(args: readonly string[], names: readonly string[], action: string): string[] {
  if (args.length !== names.length)
    throw new UsageError(`webhooks ${action} takes ${names.length === 0 ? 'no arguments' : names.join(' ')}`);
  return [...args];
}

function eventsOf(values: CommandContext['values']): WebhookEventType[] | undefined {
  const given = values.event;
  if (!Array.isArray(given)) return undefined;
  for (const event of given) {
    if (!(EVENT_TYPES as readonly string[]).includes(event))
      throw new UsageError(`--event takes one of ${EVENT_TYPES.join(', ')}, not "${event}"`);
  }
  return given as WebhookEventType[];
}

function wholeNumber(values: CommandContext['values'], flag: string, minimum: number): number | undefined {
  const text = stringValue(values[flag]);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(Number.isInteger(value) && value >= minimum)) throw new UsageError(`--${flag} takes a whole number from ${minimum}`);
  return value;
}

const describe = (webhook: Webhook): string =>
  [webhook.id, webhook.enabled ? 'enabled' : 'disabled', webhook.url, webhook.events.join(','), webhook.disabledReason ?? '']
    .join('\t')
    .trimEnd();

/** Prints an endpoint with the secret it was just given, which the server never shows again. */
function printWithSecret({ secret, ...webhook }: Webhook & { readonly secret: string }, json: boolean): void {
  if (json) printJson({ ...webhook, secret });
  else printLine(`${describe(webhook)}\nsecret (shown only this once): ${secret}`);
}

const ACTIONS: Readonly<Record<string, Action>> = {
  async create(webhooks, args, context) {
    const [url = ''] = expect(args, ['<url>'], 'create');
    const events = eventsOf(context.values);
    printWithSecret(await webhooks.create(url, { ...context.request, ...(events === undefined ? {} : { events }) }), context.json);
  },
  async list(webhooks, args, context) {
    expect(args, [], 'list');
    const all = await webhooks.list(context.request);
    if (context.json) printJson({ webhooks: all });
    else for (const webhook of all) printLine(describe(webhook));
  },
  async delete(webhooks, args, context) {
    const [id = ''] = expect(args, ['<id>'], 'delete');
    await webhooks.delete(id, context.request);
    if (context.json) printJson({ id, deleted: true });
  },
  async enable(webhooks, args, context) {
    const [id = ''] = expect(args, ['<id>'], 'enable');
    const webhook = await webhooks.update(id, { ...context.request, enabled: true });
    if (context.json) printJson(webhook);
    else printLine(describe(webhook));
  },
  async rotate(webhooks, args, context) {
    const [id = ''] = expect(args, ['<id>'], 'rotate');
    const graceSeconds = wholeNumber(context.values, 'grace-seconds', 0);
    printWithSecret(
      await webhooks.rotateSecret(id, { ...context.request, ...(graceSeconds === undefined ? {} : { graceSeconds }) }),
      context.json,
    );
  },
  async deliveries(webhooks, args, context) {
    const [id = ''] = expect(args, ['<id>'], 'deliveries');
    const state = stringValue(context.values.state);
    if (state !== undefined && !(STATES as readonly string[]).includes(state))
      throw new UsageError(`--state takes one of ${STATES.join(', ')}`);
    const limit = wholeNumber(context.values, 'limit', 1);
    const cursor = stringValue(context.values.cursor);
    const page = await webhooks.deliveries(id, {
      ...context.request,
      ...(state === undefined ? {} : { state: state as WebhookDeliveryState }),
      ...(limit === undefined ? {} : { limit }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    if (context.json) {
      printJson(page);
      return;
    }
    for (const delivery of page.deliveries) {
      const last = delivery.lastError ?? (delivery.lastStatus === null ? '' : `answered ${delivery.lastStatus}`);
      printLine(
        [
          delivery.id,
          delivery.type,
          delivery.state,
          `${delivery.attempts} attempts`,
          delivery.deliveredAt ?? delivery.nextAttemptAt ?? '-',
          last,
        ]
          .join('\t')
          .trimEnd(),
      );
    }
    if (page.next !== null) printLine(`more: --cursor ${page.next}`);
  },
  async redeliver(webhooks, args, context) {
    const [id = '', deliveryId = ''] = expect(args, ['<id>', '<delivery-id>'], 'redeliver');
    const delivery = await webhooks.redeliver(id, deliveryId, context.request);
    if (context.json) printJson(delivery);
    else printLine(`${delivery.id}\t${delivery.state}`);
  },
};

export const webhooks: Command = {
  usage:
    'webhooks create <url> [--event TYPE]… | list | delete <id> | enable <id> | rotate <id> [--grace-seconds N] |\n' +
    '           deliveries <id> [--state pending|delivered|failed] [--limit N] [--cursor C] | redeliver <id> <delivery-id>',
  summary: `endpoints that receive the outcomes (${EVENT_TYPES.join(', ')}) as Standard Webhooks, and their delivery logs`,
  options: {
    event: { type: 'string', multiple: true },
    'grace-seconds': { type: 'string' },
    state: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  },
  async run(context) {
    const [name = '', ...args] = context.positionals;
    const action = ACTIONS[name];
    if (action === undefined) throw new UsageError(`webhooks takes one of ${Object.keys(ACTIONS).join(', ')}`);
    await action(context.client.webhooks, args, context);
    return EXIT.ok;
  },
};
