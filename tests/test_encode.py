"""WAV and MP3 encoders: headers, frame parsing, sizes, decoding, validation, byte-identity."""
from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from test_synth_scores import SR, cadence

from engine.encode import samples_to_mp3_bytes, samples_to_wav_bytes
from engine.errors import RenderError
from engine.synth import score_to_samples

BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)  # MPEG-1 Layer III


@pytest.fixture(scope="module")
def y() -> np.ndarray:
    return score_to_samples(cadence(5.0))


def mp3_frames(data: bytes) -> list[dict]:
    """Walk the MPEG audio frame headers of an MP3 byte string."""
    frames, i = [], 0
    while i + 4 <= len(data):
        h = int.from_bytes(data[i:i + 4], "big")
        assert h >> 21 == 0x7FF, f"lost sync at byte {i}"
        info = {
            "version": (h >> 19) & 3,  # 3 = MPEG-1
            "layer": (h >> 17) & 3,  # 1 = Layer III
            "kbps": BITRATES[(h >> 12) & 15],
            "sr": (44100, 48000, 32000, None)[(h >> 10) & 3],
            "padding": (h >> 9) & 1,
            "mode": (h >> 6) & 3,  # 0 stereo, 1 joint stereo, 3 mono
        }
        frames.append(info)
        i += 144 * info["kbps"] * 1000 // info["sr"] + info["padding"]
    assert i == len(data)
    return frames


def test_wav_header_and_round_trip(y):
    data = samples_to_wav_bytes(y, sr=SR)
    info = sf.info(io.BytesIO(data))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (SR, 2, "PCM_16", "WAV")
    back, _ = sf.read(io.BytesIO(data), dtype="float64")
    assert back.shape == y.shape
    assert np.max(np.abs(back - y)) <= 2.0 / 32767  # rounding, and the /32768 read scale


def test_wav_has_no_metadata_chunks(y):
    data = samples_to_wav_bytes(y, sr=SR)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert b"LIST" not in data[:64] and b"PEAK" not in data[:64]
    assert len(data) == 44 + 4 * len(y)


def test_mp3_frames_are_mpeg1_layer3_cbr192_44k_stereo(y):
    data = samples_to_mp3_bytes(y, sr=SR)
    assert not data.startswith(b"ID3") and b"TAG" != data[-128:-125]
    frames = mp3_frames(data)
    assert {f["version"] for f in frames} == {3} and {f["layer"] for f in frames} == {1}
    assert {f["kbps"] for f in frames} == {192} and {f["sr"] for f in frames} == {SR}
    assert {f["mode"] for f in frames} <= {0, 1}
    seconds = len(y) / SR
    assert abs(len(data) - 192000 / 8 * seconds) < 0.05 * 192000 / 8 * seconds + 2000


@pytest.mark.skipif(shutil.which("lame") is None, reason="lame CLI not installed")
def test_mp3_decodes_to_the_same_length(y, tmp_path):
    src, dst = tmp_path / "a.mp3", tmp_path / "a.wav"
    src.write_bytes(samples_to_mp3_bytes(y, sr=SR))
    subprocess.run(["lame", "--quiet", "--decode", str(src), str(dst)], check=True)
    back, sr = sf.read(dst)
    assert sr == SR and back.shape[1] == 2
    assert abs(len(back) - len(y)) < 2 * 1152 + 600  # encoder delay / padding only
    assert np.sqrt(np.mean(back ** 2)) > 0.05


def test_encoders_are_deterministic(y):
    assert samples_to_wav_bytes(y, sr=SR) == samples_to_wav_bytes(y.copy(), sr=SR)
    assert samples_to_mp3_bytes(y, sr=SR) == samples_to_mp3_bytes(y.copy(), sr=SR)


@pytest.mark.parametrize("bad", [
    np.zeros((100, 1), np.float32),
    np.zeros((100,), np.float32),
    np.zeros((100, 2), np.int16),
    np.array([[0.0, np.nan]] * 10, np.float32),
    np.array([[0.0, np.inf]] * 10, np.float64),
], ids=["mono", "1d", "int", "nan", "inf"])
@pytest.mark.parametrize("encode", [samples_to_wav_bytes, samples_to_mp3_bytes], ids=["wav", "mp3"])
def test_bad_audio_is_rejected(encode, bad):
    with pytest.raises(RenderError):
        encode(bad, sr=SR)


def test_wrong_sample_rate_is_rejected(y):
    with pytest.raises(RenderError):
        samples_to_wav_bytes(y, sr=48000)


def test_clips_out_of_range_instead_of_wrapping():
    loud = np.array([[1.5, -1.5], [0.5, -0.5]] * 100, np.float32)
    back, _ = sf.read(io.BytesIO(samples_to_wav_bytes(loud, sr=SR)), dtype="int16")
    assert back[0, 0] == 32767 and back[0, 1] == -32767


def test_the_gapless_tag_checksum_and_frame_walk():
    from engine.mp3tag import count_frames, crc16, with_gapless_tag

    assert crc16(b"123456789") == 0xBB3D  # CRC-16/ARC check value
    y = np.zeros((44100, 2), np.float32)
    plain = samples_to_mp3_bytes(y, sr=44100)
    tagged = samples_to_mp3_bytes(y, sr=44100, gapless=True)
    assert tagged.endswith(plain) and tagged[36:40] == b"Info" and b"LAME3.100" in tagged[:200]
    assert count_frames(tagged) == count_frames(plain) + 1
    head = tagged[:len(tagged) - len(plain)]
    assert int.from_bytes(head[190:192], "big") == crc16(head[:190])  # the tag's own CRC
    assert int.from_bytes(head[177:180], "big") >> 12 == 576  # the encoder delay
    with pytest.raises(ValueError):
        count_frames(b"\x00" * 8)
    with pytest.raises(ValueError):
        with_gapless_tag(plain, samples=10 * 44100)  # more samples than the frames hold
