"""The dashboard process's heap, settled once before the app starts.

Training runs in a thread of the dashboard's process, so anything the UI thread does while
holding the GIL stalls the trainer. The costliest such thing was not drawing but Python's cyclic
garbage collector: the UI allocates many short-lived objects, and every few seconds that set off
a full collection that walked every object alive, torch's and numpy's modules and the models
included: 180-190 ms each on the synthetic task (measured with ``gc.callbacks`` on a live run),
with the trainer stopped throughout. Frozen, the objects alive at start-up are left out of every
collection; a full collection then walks only what was made after (15 ms in the same run).
Garbage made later is still collected; only cycles among the start-up objects are kept.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect start-up's garbage, then move every object alive now into the collector's
    permanent generation. Call once per process, after the models are loaded and before the
    app runs; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
