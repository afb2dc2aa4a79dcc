"""Saving a `Store` by a deadline, from a snapshot taken in the event loop.

`Store.async_delay_save` alone is a trailing delay: each change pushes the
write back, so while changes keep coming (a report every second during a
campaign) nothing reaches the disk. A `DeadlineSave` asks the store for a
write only when none is pending, or when a sooner one is wanted: the file is
written at most `within` seconds after the first change it does not hold yet,
however many follow. The store's own timer and final write (at Home
Assistant's stop) do the writing.

The store calls the data function when it writes: in the event loop, or in a
worker thread (Home Assistant 2025.4 always, later releases when told to
encode there). The snapshot is always taken in the event loop, which is the
only one that changes the data: from a worker thread it is asked for there
and waited for. It holds plain values only (lists and tuples of strings and
numbers), so it can be encoded in any thread.

The snapshot is taken in slices (the outbox's 20,000 records take 6-9 ms):
a generator that yields between them, so that the loop runs other work in
between (from a worker thread, each slice is one call into the loop). A
change made meanwhile gets a write of its own, by its own deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Mapping, Sequence
import inspect
import threading
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util.async_ import run_callback_threadsafe

# Home Assistant releases whose `Store` can encode in the event loop do so unless
# told otherwise; older ones always encode in a worker thread.
STORE_OPTIONS: Final[dict[str, Any]] = (
    {"serialize_in_event_loop": False}
    if "serialize_in_event_loop" in inspect.signature(Store).parameters
    else {}
)
# A write whose snapshot was not taken this long after it was due never will be
# (2025.4's store creates the folder before asking for the data: a disk error
# there drops the write); the next change asks for a write of its own.
LOST_AFTER: Final = 60.0

# A snapshot taken in slices: yields between them, returns the snapshot.
type Slices[T] = Generator[None, None, T]


class DeadlineSave[T: Mapping[str, Any] | Sequence[Any]]:
    """One private store, written by deadlines from snapshots taken in the loop."""

    def __init__(
        self,
        hass: HomeAssistant,
        version: int,
        key: str,
        snapshot: Callable[[], Slices[T]],
    ) -> None:
        """Save the snapshot `snapshot` takes (in the event loop) under `key`."""
        self._hass = hass
        self.store: Store[T] = Store(hass, version, key, private=True, **STORE_OPTIONS)
        self._snapshot = snapshot
        # When the pending write is due (loop time); None: the file holds all.
        self._due: float | None = None
        self._removed = False
        # A write of ours takes its snapshot: changes meanwhile ask the store
        # for their write once it is done (see `async_save_now`).
        self._saving_now = 0

    @callback
    def async_changed(self, within: float) -> None:
        """Have the change written within `within` seconds; never later than asked.

        A write already due sooner takes it; a sooner one brings it forward.
        """
        if self._removed:
            return
        now = self._hass.loop.time()
        due = now + within
        if self._due is not None and now - LOST_AFTER < self._due <= due:
            return
        self._due = due
        if not self._saving_now:
            self.store.async_delay_save(self._data, within)

    async def async_save_now(self) -> None:
        """Write now, replacing a pending write."""
        if self._removed:
            return
        # Changes made while the snapshot is taken wait for this write to ask
        # for theirs: asked for meanwhile, it would be replaced by this one
        # (and the store would put it off to the latest deadline asked for).
        self._saving_now += 1
        try:
            await self.store.async_save(await self._async_take())
        finally:
            self._saving_now -= 1
            if not self._saving_now and self._due is not None and not self._removed:
                within = max(0.0, self._due - self._hass.loop.time())
                self.store.async_delay_save(self._data, within)

    async def async_remove(self) -> None:
        """Delete the file; write nothing after."""
        self._removed = True
        # A write in progress is waited for (writes take the store's lock), so
        # that it cannot write the file again after it is deleted.
        await self.store.async_save(await self._async_take())
        await self.store.async_remove()

    @callback
    def _async_begin(self) -> Slices[T]:
        """Begin a snapshot: from here on, a change needs a write of its own."""
        self._due = None
        return self._snapshot()

    async def _async_take(self) -> T:
        """Take the snapshot here, in the loop, letting it run between slices."""
        slices = self._async_begin()
        while True:
            if (taken := _next_slice(slices)) is not None:
                return taken[0]
            await asyncio.sleep(0)  # the loop runs other work between slices

    def _data(self) -> T:
        """Return the snapshot to write: the store's data function, in any thread.

        From a worker thread, each slice is taken in the loop and waited for.
        """
        loop = self._hass.loop
        taken: tuple[T] | None = None
        if threading.get_ident() == self._hass.loop_thread_id:
            slices = self._async_begin()
            while taken is None:
                taken = _next_slice(slices)
            return taken[0]
        slices = run_callback_threadsafe(loop, self._async_begin).result()
        while taken is None:
            taken = run_callback_threadsafe(loop, _next_slice, slices).result()
        return taken[0]


def _next_slice[T](slices: Slices[T]) -> tuple[T] | None:
    """Take the next slice; return the snapshot (in a tuple) once it is taken."""
    try:
        next(slices)
    except StopIteration as end:
        return (end.value,)
    return None


def whole[T](snapshot: T) -> Slices[T]:
    """Return a snapshot taken at once as one taken in slices (of one)."""
    yield from ()  # no slice between: a generator all the same
    return snapshot
