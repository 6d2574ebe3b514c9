// The events of a streamed background response, kept while it runs and for a while after: the stream does not depend
// on the connection that asked for it, so a client that lost it reads on with
// GET /v1/responses/{id}?stream=true&starting_after=N (the last sequence_number it saw), and several may follow at once.
import type { ServerResponse } from 'node:http';
import { EventStream, type ResponseHeaders } from './http-replies.js';
import type { ResponseEvents } from './responses-reply.js';

interface KeptEvent {
  type: string;
  data: object;
}

export class ResponseEventLog implements ResponseEvents {
  private readonly events: KeptEvent[] = [];
  private readonly followers = new Set<EventStream>();
  private ended = false;

  constructor(private readonly headers: ResponseHeaders = {}) {}

  /** A background stream opens when the response is queued: response.created is its first event. */
  get opened(): boolean {
    return true;
  }

  open(): void {}

  send(type: string, body: object): void {
    if (this.ended) return;
    const event = { type, data: { type, sequence_number: this.events.length, ...body } };
    this.events.push(event);
    for (const follower of this.followers) follower.send(event.data, event.type);
  }

  /** Ends the stream of every follower; later followers read the kept events and end with them. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const follower of this.followers) follower.end();
    this.followers.clear();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Streams to `response` the events after sequence number `startingAfter` (-1: all), then those still to come. */
  follow(response: ServerResponse, startingAfter = -1): void {
    const stream = new EventStream(response);
    stream.open(this.headers);
    // The status line goes now: a client reading on may have no event to wait for yet.
    response.flushHeaders();
    for (const event of this.events.slice(Math.max(0, startingAfter + 1))) stream.send(event.data, event.type);
    if (this.ended) return stream.end();
    this.followers.add(stream);
    response.once('close', () => this.followers.delete(stream));
  }
}
