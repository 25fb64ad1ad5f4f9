/**
 * The product's EventBridge bus: PutEvents with source "penetrator". Entries the bus refuses
 * (FailedEntryCount) are sent again a bounded number of times; what still fails is reported as a
 * TransientError naming the detail type and the bus's error code, never the detail.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { TransientError } from '../errors';
import { EVENT_SOURCE } from '../domain/product-events';
import type { EventPublisher, ProductEvent } from '../ports';

/** One client per Lambda container, reused by every invocation. */
export const eventBridgeClient = new EventBridgeClient({});

/** PutEvents takes at most 10 entries per call. */
const BATCH = 10;
/** Sends of the entries the bus refused; the SDK already retries whole-call throttling itself. */
const MAX_SENDS = 3;

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly busName: string,
    private readonly client: EventBridgeClient = eventBridgeClient,
  ) {}

  async publish(events: readonly ProductEvent[]): Promise<void> {
    const entries: PutEventsRequestEntry[] = events.map((e) => ({
      EventBusName: this.busName,
      Source: EVENT_SOURCE,
      DetailType: e.detailType,
      Detail: JSON.stringify(e.detail),
    }));
    for (let start = 0; start < entries.length; start += BATCH) {
      await this.sendBatch(entries.slice(start, start + BATCH));
    }
  }

  private async sendBatch(batch: PutEventsRequestEntry[]): Promise<void> {
    let pending = batch;
    let lastError = '';
    for (let send = 0; send < MAX_SENDS && pending.length > 0; send++) {
      let answer;
      try {
        answer = await this.client.send(new PutEventsCommand({ Entries: pending }));
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        throw new TransientError(`EventBridge: PutEvents to bus ${this.busName} failed (${name})`);
      }
      const results = answer.Entries ?? [];
      // Results are in request order; an entry with an ErrorCode was not accepted.
      const refused = pending.filter((_entry, i) => results[i]?.ErrorCode !== undefined);
      lastError = results.find((r) => r.ErrorCode !== undefined)?.ErrorCode ?? lastError;
      pending = (answer.FailedEntryCount ?? 0) > 0 ? refused : [];
    }
    if (pending.length > 0) {
      const types = [...new Set(pending.map((e) => e.DetailType))].join(', ');
      throw new TransientError(
        `EventBridge: bus ${this.busName} refused ${pending.length} event(s) (${types}) after ${MAX_SENDS} sends: ${lastError}`,
      );
    }
  }
}
