"""NoteList: how every voice of the composer collects its notes (ticks) before performance."""
from __future__ import annotations

import numpy as np


class NoteList:
    """Notes of one voice in ticks: start, end, MIDI pitch, accent (velocity factor, 1 = the
    voice's base), order (index within a strummed chord), glide (semitones, see Note.glide)."""

    def __init__(self) -> None:
        self.start: list[int] = []
        self.end: list[int] = []
        self.pitch: list[int] = []
        self.accent: list[float] = []
        self.order: list[int] = []
        self.glide: list[int] = []

    def add(self, start: int, end: int, pitch: int, *, accent: float = 1.0, order: int = 0,
            glide: int = 0) -> None:
        """One note from tick `start` to tick `end` (> start)."""
        if end <= start:
            return
        self.start.append(int(start))
        self.end.append(int(end))
        self.pitch.append(int(pitch))
        self.accent.append(float(accent))
        self.order.append(int(order))
        self.glide.append(int(glide))

    def chord(self, start: int, end: int, pitches: tuple[int, ...] | list[int], *, accent: float = 1.0) -> None:
        """Every pitch of a chord struck together (order = position from the lowest, for strums)."""
        for i, p in enumerate(sorted(pitches)):
            self.add(start, end, p, accent=accent, order=i)

    def __len__(self) -> int:
        return len(self.start)

    def arrays(self) -> dict[str, np.ndarray]:
        """Parallel arrays: start, end, pitch, order, glide (int64) and accent (float64)."""
        return {
            "start": np.asarray(self.start, np.int64),
            "end": np.asarray(self.end, np.int64),
            "pitch": np.asarray(self.pitch, np.int64),
            "accent": np.asarray(self.accent, np.float64),
            "order": np.asarray(self.order, np.int64),
            "glide": np.asarray(self.glide, np.int64),
        }
