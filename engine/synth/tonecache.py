"""Tones kept across renders: an optional, bounded memo a long-lived caller (the service's
render pool) passes to `render(spec, tones=...)`.

A tone depends only on (voice, MIDI pitch, brightness, sample rate) and is causal, so the
first n samples of a longer computed head are exactly the samples a shorter render would
compute (`timbres.tone_head`). The cache keeps, per key, the longest head asked for so far
(never more than the tone's `full` length, after which it loops), and serves any shorter
request as a slice: renders give the same bytes with or without it, warm or cold.

Thread-safe (renders run in a pool); arrays handed out are read-only. Least recently used
heads are dropped once the total passes `max_bytes`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from engine.synth.timbres import Ramps, Voice, loop_tone, tone_head, tone_shape

Key = tuple[Voice, int, float, int]  #: (voice, MIDI pitch, brightness 0..1, sample rate Hz)


class ToneCache:
    """Computed tone heads (float32) by (voice, pitch, brightness, sample rate), LRU by bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self._heads: OrderedDict[Key, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes of tone data held now."""
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._heads)

    def tone(self, voice: Voice, pitch: int, brightness: float, n: int, *, sr: int,
             ramps: Ramps) -> np.ndarray:
        """The first n samples of the tone, as `timbres.tone` computes them: float32 (n,)."""
        full, period = tone_shape(voice, pitch, sr=sr)
        need = min(n, full)
        key = (voice, pitch, brightness, sr)
        with self._lock:
            head = self._heads.get(key)
            if head is not None:
                self._heads.move_to_end(key)
        if head is None or len(head) < need:
            head = tone_head(voice, pitch, brightness, need, sr=sr, ramps=ramps)
            head.flags.writeable = False
            self._keep(key, head)
        return loop_tone(head, n, full=full, period=period)

    def _keep(self, key: Key, head: np.ndarray) -> None:
        if head.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._heads.get(key)
            if old is not None:
                if len(old) >= len(head):
                    return  # another thread stored a head at least as long meanwhile
                self._bytes -= old.nbytes
            self._heads[key] = head
            self._heads.move_to_end(key)
            self._bytes += head.nbytes
            while self._bytes > self.max_bytes:
                _, dropped = self._heads.popitem(last=False)
                self._bytes -= dropped.nbytes
