export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
}

/** One event block: its `event` name ("message" without one) and its `data` lines joined; comments and ids are skipped. */
function parseBlock(block: string): ServerSentEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? null : { event, data: data.join('\n') };
}

/** The events of a text/event-stream body, whatever its line endings and however it is cut into chunks. */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent, void, undefined> {
  const decoder = new TextDecoder();
  let text = '';
  let carriageReturn = false;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    let decoded = decoder.decode(chunk, { stream: true });
    // A chunk ending in \r may continue with \n: that pair is one line ending.
    if (carriageReturn && decoded.startsWith('\n')) decoded = decoded.slice(1);
    carriageReturn = decoded.endsWith('\r');
    text += decoded.replace(/\r\n?/g, '\n');
    for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
      const event = parseBlock(text.slice(0, end));
      text = text.slice(end + 2);
      if (event !== null) yield event;
    }
  }
}
