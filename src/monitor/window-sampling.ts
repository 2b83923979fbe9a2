// The reservoir's random draws: a hash of (seed, window, row) rather than a generator, so a window
// needs no generator state to snapshot and a restored window draws exactly what the original would have.

/** murmur3's 32-bit finalizer: a bijective mix that spreads every input bit over the output. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash every draw of window `index` starts from. */
export function hashWindow(seed: number, index: number): number {
  return mix32(mix32(Math.trunc(seed) ^ 0x6a09e667) ^ index);
}

/** The draw for the n-th row (0-based) of a window, uniform in [0, 1). */
export function uniformAt(windowHash: number, n: number): number {
  return mix32(mix32((windowHash + Math.imul(n, 0x9e3779b9)) | 0) ^ n) / 4294967296;
}
