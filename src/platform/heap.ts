// V8's heap settings for Portique's HTTP server, which streams documents (applied by `portique
// serve` and by the Portique that bench/documents measures; other roles keep V8's defaults).
//
// After a full (mark-compact) collection, V8 lets the old generation grow by a factor it derives
// from how fast it collects against how fast the program promotes objects. A server streaming a
// file promotes little, so the factor settles at 1.2 to 1.3: a 40 MB old generation is given
// 10 MB of room. V8 also starts the next marking as soon as that room is smaller than the young
// generation (16 MB once grown), so the server ran a full collection every 50 ms for as long as a
// download streamed: 3 to 4 CPU seconds per GiB downloaded instead of 0.3 to 0.5
// (--trace-gc-verbose under bench/documents). A fixed growth of 100 % leaves the room (Portique's
// old generation is 40 MB or more: 10 full collections in the same run, 0.3 to 0.5 s per GiB);
// the old generation is still collected, once it has doubled. A process with a much smaller heap
// needs more: the bench's bare proxy (9 MB) still collected every 50 ms at 100 %, not at 400 %.
import { setFlagsFromString } from 'node:v8';

/** Read by V8 at every collection, so setting it once the process runs takes effect (test/platform/heap.test.ts). */
export function tuneHeapForStreaming(growingPercent = 100): void {
  setFlagsFromString(`--heap-growing-percent=${growingPercent}`);
}
