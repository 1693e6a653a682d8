/**
 * Imported before the script by infra/progimage-node, so in every ProgImage process:
 * keeps one of process.nextTick's queue entries alive for the life of the process,
 * so that V8 never collects the hidden classes the entries share.
 *
 * Node 20 builds each entry with an object literal whose first keys are computed
 * (two symbols). For such a literal V8 remembers the hidden class each key was
 * defined on, and the first time it meets another it gives up for good: every
 * later nextTick defines its keys through the runtime, about 200 ns a call instead
 * of being inlined. It meets another after full collections that run while no
 * entry is alive, since the classes are then held only weakly and are made anew.
 * Under cached GETs that cost the process 4-8 µs a request (docs/BENCHMARKS.md).
 */
import { createHook } from 'node:async_hooks';

const pinned: object[] = [];

const hook = createHook({
  init(_asyncId, type, _triggerAsyncId, resource) {
    if (type !== 'TickObject') return;
    pinned.push(resource);
    hook.disable();
  },
});
hook.enable();
process.nextTick(() => undefined);
