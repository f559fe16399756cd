// What an embedded ICC colour profile calls itself, read from its 'desc' tag. Enough to tell
// an sRGB profile (most camera and web JPEGs carry one) from Adobe RGB, ProPhoto and the like.
// Layout (ICC.1 v2 and v4): a 128-byte header, a tag count, then 12-byte entries (signature,
// offset, size); 'desc' is a textDescriptionType (v2: ASCII) or multiLocalizedUnicodeType (v4: UTF-16BE).

export function iccDescription(icc: Uint8Array): string | undefined {
  const view = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
  const ascii = (at: number, n: number) => String.fromCharCode(...icc.subarray(at, at + n));
  if (icc.byteLength < 132) return undefined;
  const count = view.getUint32(128);
  for (let i = 0; i < count && 132 + 12 * (i + 1) <= icc.byteLength; i++) {
    const entry = 132 + 12 * i;
    if (ascii(entry, 4) !== 'desc') continue;
    const at = view.getUint32(entry + 4);
    const size = view.getUint32(entry + 8);
    if (at + size > icc.byteLength || size < 12) return undefined;
    const type = ascii(at, 4);
    if (type === 'desc') {
      const length = view.getUint32(at + 8);
      if (length < 1 || at + 12 + length > icc.byteLength) return undefined;
      return ascii(at + 12, length - 1);
    }
    if (type === 'mluc' && size >= 28) {
      // The first record is enough: profiles name themselves the same in every language.
      const length = view.getUint32(at + 20);
      const offset = view.getUint32(at + 24);
      if (at + offset + length > icc.byteLength) return undefined;
      let text = '';
      for (let p = at + offset; p + 1 < at + offset + length; p += 2) text += String.fromCharCode(view.getUint16(p));
      return text;
    }
    return undefined;
  }
  return undefined;
}

/**
 * True for profiles that describe sRGB ("sRGB IEC61966-2.1", "sRGB v1.31 (Canon)", "Nikon sRGB …"):
 * their pixels already are sRGB, so converting them to sRGB changes nothing worth its cost.
 */
export function isSrgbProfile(icc: Uint8Array | undefined): boolean {
  if (!icc) return false;
  return /\bsRGB\b/i.test(iccDescription(icc) ?? '');
}
