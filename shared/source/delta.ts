/**
 * Applies a git delta (the payload of OFS_DELTA and REF_DELTA pack entries) to its base: a header with both sizes,
 * then copy-from-base and insert-literal instructions.
 */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let pos = 0;
  const readSize = (): number => {
    let size = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = delta[pos++]!;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return size;
  };
  const baseSize = readSize();
  if (baseSize !== base.length) throw new Error(`delta base size ${baseSize} does not match base of ${base.length}`);
  const outSize = readSize();
  const out = Buffer.allocUnsafe(outSize);
  let outPos = 0;
  while (pos < delta.length) {
    const op = delta[pos++]!;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      if (op & 0x01) offset = delta[pos++]!;
      if (op & 0x02) offset |= delta[pos++]! << 8;
      if (op & 0x04) offset |= delta[pos++]! << 16;
      if (op & 0x08) offset = (offset | (delta[pos++]! << 24)) >>> 0;
      if (op & 0x10) size = delta[pos++]!;
      if (op & 0x20) size |= delta[pos++]! << 8;
      if (op & 0x40) size |= delta[pos++]! << 16;
      if (size === 0) size = 0x10000;
      if (offset + size > base.length || outPos + size > outSize) throw new Error('delta copy out of range');
      base.copy(out, outPos, offset, offset + size);
      outPos += size;
    } else if (op > 0) {
      if (pos + op > delta.length || outPos + op > outSize) throw new Error('delta insert out of range');
      delta.copy(out, outPos, pos, pos + op);
      outPos += op;
      pos += op;
    } else {
      throw new Error('delta opcode 0 is reserved');
    }
  }
  if (outPos !== outSize) throw new Error(`delta produced ${outPos} bytes, expected ${outSize}`);
  return out;
}
