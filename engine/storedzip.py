"""A ZIP archive of stored (uncompressed) entries whose sizes are known before their data, so
several entries can be filled at once, window by window, straight into the file on disk.

`zipfile` writes one entry at a time; the stems of a piece are rendered together, one window
of every stem per step. Here each entry's local header and data area are reserved up front
(`reserve`), the data is written into its area as it comes (`write`, in order per entry, the
CRC-32 kept as it goes), and `close` patches the CRCs into the local headers and appends the
central directory. Entries are dated 1980-01-01 00:00, Unix rw-r--r--: no timestamps, so the
same data gives the same bytes. Plain ZIP (no ZIP64): every entry and the archive stay below
4 GiB (a 300 s stem is 53 MB).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

LOCAL = struct.Struct("<4s2B4HL2L2H")  #: local file header (30 bytes, then the name)
CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  #: central directory header (46 bytes, then the name)
END = struct.Struct("<4s4H2LH")  #: end of central directory record
VERSION = 20  #: ZIP 2.0: stored entries and folders
DOS_DATE = (0 << 9) | (1 << 5) | 1  #: 1980-01-01
DOS_TIME = 0  #: 00:00:00
UNIX = 3
ATTRIBUTES = 0o100644 << 16  #: a regular file, rw-r--r--
LIMIT = 0xFFFFFFFF


@dataclass
class Entry:
    """One reserved entry: where its header and data are, how much is written, its CRC so far."""

    name: bytes
    size: int
    offset: int  #: of the local header
    written: int = 0
    crc: int = 0

    @property
    def data_offset(self) -> int:
        return self.offset + LOCAL.size + len(self.name)


class StoredZip:
    """Build a ZIP in `fh` (a seekable binary file opened for writing, positioned at 0)."""

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        self.entries: list[Entry] = []
        self.end = 0  #: first byte after the last reserved entry

    def reserve(self, name: str, size: int) -> Entry:
        """Reserve an entry of exactly `size` bytes after the previous one."""
        entry = Entry(name.encode("ascii"), size, self.end)
        self.end = entry.data_offset + size
        if self.end > LIMIT:
            raise ValueError("ZIP over 4 GiB (ZIP64 is not supported)")
        self.fh.seek(entry.offset)
        self.fh.write(self._local(entry))
        self.entries.append(entry)
        return entry

    def write(self, entry: Entry, data: Any) -> None:
        """Append `data` (any C-contiguous buffer) to the entry's area (its bytes must come in order)."""
        data = memoryview(data).cast("B")
        if entry.written + len(data) > entry.size:
            raise ValueError(f"entry {entry.name!r}: more data than reserved")
        self.fh.seek(entry.data_offset + entry.written)
        self.fh.write(data)
        entry.written += len(data)
        entry.crc = zlib.crc32(data, entry.crc)

    def add(self, name: str, data: bytes) -> None:
        """Reserve an entry for `data` and write it."""
        self.write(self.reserve(name, len(data)), data)

    def close(self) -> None:
        """Patch each local header's CRC, then append the central directory and its end record."""
        for entry in self.entries:
            if entry.written != entry.size:
                raise ValueError(f"entry {entry.name!r}: {entry.written} of {entry.size} bytes written")
            self.fh.seek(entry.offset)
            self.fh.write(self._local(entry))
        self.fh.seek(self.end)
        directory = b"".join(
            CENTRAL.pack(b"PK\x01\x02", VERSION, UNIX, VERSION, 0, 0, 0, DOS_TIME, DOS_DATE, e.crc, e.size, e.size,
                         len(e.name), 0, 0, 0, 0, ATTRIBUTES, e.offset) + e.name
            for e in self.entries)
        self.fh.write(directory)
        self.fh.write(END.pack(b"PK\x05\x06", 0, 0, len(self.entries), len(self.entries), len(directory),
                               self.end, 0))
        self.fh.truncate()

    @staticmethod
    def _local(entry: Entry) -> bytes:
        return LOCAL.pack(b"PK\x03\x04", VERSION, 0, 0, 0, DOS_TIME, DOS_DATE, entry.crc, entry.size, entry.size,
                          len(entry.name), 0) + entry.name
