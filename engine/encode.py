"""Float samples -> file bytes: 16-bit PCM WAV (soundfile) and CBR 192 kbps MP3 (lameenc).

Input `y` is float32/float64 of shape (frames, 2), finite, nominally within [-1, 1], at
`sr` = 44100 Hz. Conversion to 16-bit is plain rounding (no dither), so it is deterministic and
silence stays digital silence. Both encoders work in chunks to bound memory; neither writes
timestamps or tags, so equal samples give equal bytes.
"""
from __future__ import annotations

import io
import struct

import lameenc
import numpy as np
import soundfile as sf

from engine.errors import RenderError
from engine.mp3tag import with_gapless_tag

CHUNK = 1 << 16  #: frames converted / encoded per step
MP3_KBPS = 192
MP3_QUALITY = 2  #: lame -q 2 (high quality)


def valid_audio(y: np.ndarray, *, sr: int) -> None:
    """Raise RenderError unless y is a finite float array of shape (frames, 2) and sr is 44100."""
    if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.floating):
        raise RenderError("audio must be a floating-point numpy array")
    if y.ndim != 2 or y.shape[1] != 2:
        raise RenderError(f"audio must have shape (frames, 2), got {y.shape}")
    if sr != 44100:
        raise RenderError(f"sample rate must be 44100 Hz, got {sr}")
    for a in range(0, y.shape[0], CHUNK):
        if not np.isfinite(y[a:a + CHUNK].sum(dtype=np.float64)):  # NaN and inf propagate
            raise RenderError("audio contains NaN or infinite samples")


def to_int16(y: np.ndarray) -> np.ndarray:
    """float (n, 2) in [-1, 1] -> int16 (n, 2) by rounding y * 32767, clipped."""
    t = np.multiply(y, np.float32(32767.0), dtype=np.float32)
    np.rint(t, out=t)
    np.clip(t, -32767.0, 32767.0, out=t)
    return t.astype(np.int16)


WAV_HEADER = 44  #: bytes of the canonical PCM WAV header (`wav_header`)


def wav_header(frames: int, *, sr: int, channels: int = 2) -> bytes:
    """The 44-byte header of a 16-bit PCM WAV of `frames` frames (the one soundfile writes), for
    writing the samples after it as they come (little-endian int16, interleaved)."""
    data = frames * channels * 2
    return struct.pack("<4sL4s4sLHHLLHH4sL", b"RIFF", 36 + data, b"WAVE", b"fmt ", 16, 1, channels, sr,
                       sr * channels * 2, channels * 2, 16, b"data", data)


def samples_to_wav_bytes(y: np.ndarray, *, sr: int) -> bytes:
    """16-bit PCM stereo WAV file bytes of y (frames, 2) at sr Hz."""
    valid_audio(y, sr=sr)
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", samplerate=sr, channels=2, subtype="PCM_16", format="WAV") as f:
        for a in range(0, y.shape[0], CHUNK):
            f.write(to_int16(y[a:a + CHUNK]))
    return buf.getvalue()


def samples_to_mp3_bytes(y: np.ndarray, *, sr: int, gapless: bool = False) -> bytes:
    """MPEG-1 Layer III bytes of y (frames, 2): CBR 192 kbps, 44.1 kHz, stereo, quality 2.

    gapless: put a LAME Info tag in front (engine.mp3tag), so gapless decoders drop the encoder
    delay and padding and return exactly y's frames (what a loop needs)."""
    valid_audio(y, sr=sr)
    enc = lameenc.Encoder()
    enc.set_bit_rate(MP3_KBPS)
    enc.set_in_sample_rate(sr)
    enc.set_channels(2)
    enc.set_quality(MP3_QUALITY)
    out = bytearray()
    for a in range(0, y.shape[0], CHUNK):
        out += enc.encode(to_int16(y[a:a + CHUNK]).tobytes())
    out += enc.flush()
    return with_gapless_tag(bytes(out), samples=y.shape[0]) if gapless else bytes(out)
