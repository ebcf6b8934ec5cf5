// tuneHeapForStreaming: V8 takes the flag while the process runs. The proof is V8's own trace of
// the old generation's next limit after a full collection: "(2.0)", the factor the flag sets,
// once tuned, and the dynamic factor (4.0 for a small heap) before.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const heapModule = fileURLToPath(new URL('../../src/platform/heap.ts', import.meta.url));

/** The factors V8 prints for each new old-generation limit in a child that fills the heap, collects, and does it again with the flag set. */
function factors(tune: boolean): { before: string[]; after: string[] } {
  const script = `
    const { tuneHeapForStreaming } = await import(${JSON.stringify(heapModule)});
    const fill = () => { const kept = []; for (let i = 0; i < 300000; i++) kept.push({ i, s: 'x' + i }); return kept; };
    let kept = fill(); globalThis.gc(); kept = null;
    console.log('--- tuned');
    if (${tune}) tuneHeapForStreaming();
    kept = fill(); globalThis.gc();
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--expose-gc', '--trace-gc-verbose', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const [before = '', after = ''] = out.split('--- tuned');
  const limits = (text: string) => [...text.matchAll(/\[HeapController\] Limit: .*\((\d+\.\d)\)/g)].map((m) => m[1]!);
  return { before: limits(before), after: limits(after) };
}

t.test('once tuned, every new old-generation limit grows by a factor of 2', async (t) => {
  const { before, after } = factors(true);
  t.ok(before.length > 0 && after.length > 0, `V8 traced its limits (${before.length} before, ${after.length} after)`);
  t.notOk(before.includes('2.0'), `before: V8's own factors (${before.join(', ')})`);
  t.same([...new Set(after)], ['2.0'], `after: ${after.join(', ')}`);
});

t.test("untuned, the factor stays V8's own", async (t) => {
  const { after } = factors(false);
  t.ok(after.length > 0);
  t.notOk(after.includes('2.0'), `factors: ${after.join(', ')}`);
});
