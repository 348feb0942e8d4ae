"""A LAME "Info" tag for gapless playback: an MP3 that knows its own encoder delay and padding.

An MP3 decodes to more samples than went in: the encoder delays the audio by ENCODER_DELAY
samples (the decoder adds DECODER_DELAY of its own: 1105 in all) and pads the end to a whole
frame of 1152. `lameenc` writes no tag saying so, so every decoder plays that silence, and a
loop stutters where it comes round. `with_gapless_tag` puts, in front of the frames, one silent
frame carrying the Xing/LAME "Info" tag (Mp3 Info Tag rev 1: frame count, byte count, table of
contents, and the LAME extension with the delay and padding, its CRC over the first 190 bytes),
which gapless decoders (mpg123, hence libsndfile, ffmpeg, foobar2000, iTunes, most browsers)
use to drop the delay and padding and return exactly the samples that were encoded. Decoders
that ignore it play one frame of silence more, as with any LAME file.

Only for MPEG-1 Layer III, 44.1 kHz, constant bitrate, without CRC: what engine.encode writes.
"""
from __future__ import annotations

import struct

SAMPLES_PER_FRAME = 1152
ENCODER_DELAY = 576  #: samples LAME delays the audio by (the decoder adds DECODER_DELAY = 529)
BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
SAMPLE_RATE = 44100
ENCODER = b"LAME3.100"


def _frame_length(header: int) -> int:
    """Bytes of the MPEG-1 Layer III frame starting with this 32-bit header (44.1 kHz)."""
    bitrate = BITRATES_KBPS[(header >> 12) & 0xF] * 1000
    return 144 * bitrate // SAMPLE_RATE + ((header >> 9) & 1)


def count_frames(mp3: bytes) -> int:
    """The number of frames of a CBR MPEG-1 Layer III stream with no tags (walked header to header)."""
    at, frames = 0, 0
    while at + 4 <= len(mp3):
        header = int.from_bytes(mp3[at:at + 4], "big")
        if header >> 21 != 0x7FF:
            raise ValueError(f"no MP3 frame header at byte {at}")
        at += _frame_length(header)
        frames += 1
    return frames


def crc16(data: bytes) -> int:
    """CRC-16/ARC (polynomial 0x8005, reflected, initial 0): LAME's tag checksum."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_gapless_tag(mp3: bytes, *, samples: int, lowpass_hz: int = 19500) -> bytes:
    """`mp3` (CBR frames from engine.encode, `samples` frames of audio per channel) with an
    Info-tag frame in front, so gapless decoders return exactly `samples` samples."""
    first = int.from_bytes(mp3[:4], "big")
    audio_frames = count_frames(mp3)
    padding = audio_frames * SAMPLES_PER_FRAME - ENCODER_DELAY - samples
    if not 0 <= padding < 4096 or samples <= 0:
        raise ValueError(f"{samples} samples do not fit {audio_frames} frames")
    header = first & ~(1 << 9)  # the tag frame: same bitrate and mode, no padding byte
    length = _frame_length(header)
    side_info = 17 if (header >> 6) & 3 == 3 else 32  # mono : stereo
    bitrate_kbps = BITRATES_KBPS[(header >> 12) & 0xF]
    frame = bytearray(length)
    frame[:4] = header.to_bytes(4, "big")
    tag = bytearray()
    tag += b"Info"  # a CBR file's Xing tag
    tag += struct.pack(">I", 0x0F)  # frames, bytes, TOC and quality follow
    tag += struct.pack(">I", audio_frames)
    tag += struct.pack(">I", length + len(mp3))
    tag += bytes(min(255, i * 256 // 100) for i in range(100))  # TOC of a constant bitrate
    tag += struct.pack(">I", 0)  # quality indicator
    lame = bytearray()
    lame += ENCODER
    lame += bytes([0x01])  # tag revision 0, method 1: constant bitrate
    lame += bytes([min(255, lowpass_hz // 100)])
    lame += struct.pack(">f", 0.0)  # peak amplitude: not measured
    lame += struct.pack(">HH", 0, 0)  # radio and audiophile replay gain: not set
    lame += bytes([0])  # encoding flags, ATH type
    lame += bytes([min(255, bitrate_kbps)])
    lame += ((ENCODER_DELAY << 12) | padding).to_bytes(3, "big")
    lame += bytes([0])  # misc: noise shaping, stereo mode, source rate: not recorded
    lame += bytes([0])  # MP3 gain
    lame += struct.pack(">H", 0)  # preset and surround: unknown
    lame += struct.pack(">I", length + len(mp3))  # music length: the whole file
    lame += struct.pack(">H", 0)  # CRC of the audio frames: not recorded (decoders ignore it)
    start = 4 + side_info
    frame[start:start + len(tag)] = tag
    frame[start + len(tag):start + len(tag) + len(lame)] = lame
    end = start + len(tag) + len(lame)
    frame[end:end + 2] = struct.pack(">H", crc16(bytes(frame[:end])))  # CRC of the tag frame so far
    return bytes(frame) + mp3
