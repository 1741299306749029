/**
 * The upload-pack request and response of Git's smart HTTP protocol (v0/v1, which every forge speaks): pkt-lines,
 * the shallow-info section, ACK/NAK, and side-band-64k demultiplexing of the pack.
 */
const flush = Buffer.from('0000');

export function pktLine(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

export interface UploadPackRequest {
  readonly wants: readonly string[];
  readonly haves: readonly string[];
  /** Commits the client holds without their parents. */
  readonly shallows: readonly string[];
  readonly depth?: number;
  readonly capabilities: readonly string[];
}

export function uploadPackRequest(req: UploadPackRequest): Buffer {
  const parts: Buffer[] = [];
  req.wants.forEach((oid, i) => {
    parts.push(pktLine(`want ${oid}${i === 0 ? ` ${req.capabilities.join(' ')}` : ''}\n`));
  });
  for (const oid of req.shallows) parts.push(pktLine(`shallow ${oid}\n`));
  if (req.depth !== undefined) parts.push(pktLine(`deepen ${req.depth}\n`));
  parts.push(flush);
  for (const oid of req.haves) parts.push(pktLine(`have ${oid}\n`));
  parts.push(pktLine('done\n'));
  return Buffer.concat(parts);
}

export interface UploadPackResponse {
  readonly pack: Buffer;
  readonly shallow: readonly string[];
  readonly unshallow: readonly string[];
}

/** A message the server sent instead of (or in the middle of) a pack: `ERR ...` or side-band channel 3. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/**
 * Whether a smart-HTTP ref advertisement (`info/refs?service=git-upload-pack`) arrived whole: every pkt-line complete
 * and the ref list closed by its flush-pkt (after the `# service=` announcement's own flush; an empty repository sends
 * the two flushes and nothing else). A response cut off by the network parses as "no refs" in isomorphic-git, which
 * would otherwise pass for an empty repository.
 */
export function isCompleteAdvertisement(body: Uint8Array): boolean {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let pos = 0;
  let flushes = 0;
  let endsWithFlush = false;
  while (pos + 4 <= buf.length) {
    const len = Number.parseInt(buf.toString('latin1', pos, pos + 4), 16);
    if (Number.isNaN(len) || (len > 0 && len < 4) || pos + Math.max(len, 4) > buf.length) return false;
    endsWithFlush = len === 0;
    if (len === 0) flushes += 1;
    pos += Math.max(len, 4);
  }
  const announced = buf.toString('latin1', 4, 14) === '# service=';
  return pos === buf.length && endsWithFlush && flushes >= (announced ? 2 : 1);
}

export function parseUploadPackResponse(body: Buffer): UploadPackResponse {
  const shallow: string[] = [];
  const unshallow: string[] = [];
  const packParts: Buffer[] = [];
  let pos = 0;
  let sideband = false;
  while (pos + 4 <= body.length) {
    const len = Number.parseInt(body.toString('latin1', pos, pos + 4), 16);
    if (Number.isNaN(len)) throw new ProtocolError(`bad pkt-line length at ${pos}`);
    if (len === 0) {
      pos += 4;
      if (sideband) break;
      continue;
    }
    if (len < 4 || pos + len > body.length) throw new ProtocolError('response ends in the middle of a pkt-line');
    const payload = body.subarray(pos + 4, pos + len);
    pos += len;
    const band = payload[0];
    if (band === 1) {
      sideband = true;
      packParts.push(payload.subarray(1));
      continue;
    }
    if (band === 2) {
      sideband = true;
      continue;
    }
    if (band === 3) throw new RemoteError(`remote error: ${payload.subarray(1).toString('utf8').trim()}`);
    const line = payload.toString('utf8').trimEnd();
    if (line.startsWith('shallow ')) shallow.push(line.slice(8));
    else if (line.startsWith('unshallow ')) unshallow.push(line.slice(10));
    else if (line.startsWith('ERR ')) throw new RemoteError(`remote error: ${line.slice(4)}`);
    // ACK / NAK lines carry nothing the fetch needs: `done` was sent, so the pack follows.
  }
  if (packParts.length === 0) throw new ProtocolError('the server sent no pack data');
  return { pack: Buffer.concat(packParts), shallow, unshallow };
}
