"""GET /jobs/{id}/download: Content-Type, Content-Disposition, ETag, 304, Range/206, caching."""
from __future__ import annotations

import io

import pytest
import soundfile

API = "/api/v1"
FORMATS = [("wav", "audio/wav", "wav"), ("mp3", "audio/mpeg", "mp3"), ("midi", "audio/midi", "mid")]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, helpers):
    """One app with a finished 1-second job in each format: {format: (client, job body, bytes)}."""

    from app import create_app

    app = create_app({"TESTING": True, "RESONANT_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))})
    app.test_client_class = helpers.BufferedClient
    client = app.test_client()
    helper = helpers.ApiHelper(client)
    out = {}
    for fmt, _, _ in FORMATS:
        job = helper.complete({"params": {"n": 12, "k": 5}, "duration_seconds": 1, "format": fmt})
        out[fmt] = (client, job, client.get(job["download_url"]).data)
    return out


@pytest.mark.parametrize(("fmt", "mimetype", "ext"), FORMATS)
def test_headers(finished, fmt, mimetype, ext):
    client, job, data = finished[fmt]
    response = client.get(job["download_url"])
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"] == f"inline; filename=resonant-{job['job_id'][:12]}.{ext}"
    assert response.headers["ETag"] == f'"{job["job_id"]}"'  # strong
    assert response.headers["Accept-Ranges"] == "bytes"
    assert int(response.headers["Content-Length"]) == len(data)
    cache = {part.strip() for part in response.headers["Cache-Control"].split(",")}
    assert cache == {"public", "max-age=31536000", "immutable"}


def test_file_contents(finished):
    samples, rate = soundfile.read(io.BytesIO(finished["wav"][2]))
    assert rate == 44100 and samples.shape == (44100, 2)
    assert finished["mp3"][2][:3] == b"ID3" or finished["mp3"][2][0] == 0xFF
    assert finished["midi"][2][:4] == b"MThd"


@pytest.mark.parametrize("fmt", ["wav", "mp3", "midi"])
def test_if_none_match_gives_304(finished, fmt):
    client, job, _ = finished[fmt]
    response = client.get(job["download_url"], headers={"If-None-Match": f'"{job["job_id"]}"'})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == f'"{job["job_id"]}"'
    other = client.get(job["download_url"], headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


@pytest.mark.parametrize("fmt", ["wav", "mp3", "midi"])
@pytest.mark.parametrize(("range_header", "start", "stop"), [
    ("bytes=0-99", 0, 100), ("bytes=10-", 10, None), ("bytes=-50", -50, None),
])
def test_range_gives_206(finished, fmt, range_header, start, stop):
    client, job, data = finished[fmt]
    response = client.get(job["download_url"], headers={"Range": range_header})
    assert response.status_code == 206
    expected = data[start:stop]
    assert response.data == expected
    first = start if start >= 0 else len(data) + start
    assert response.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"


def test_if_range_with_the_etag(finished):
    client, job, data = finished["wav"]
    response = client.get(job["download_url"], headers={"Range": "bytes=0-9", "If-Range": f'"{job["job_id"]}"'})
    assert response.status_code == 206 and response.data == data[:10]


def test_unsatisfiable_range_is_416_json(finished):
    client, job, data = finished["wav"]
    response = client.get(job["download_url"], headers={"Range": f"bytes={len(data) + 10}-"})
    assert response.status_code == 416 and "detail" in response.json
    assert response.headers["Content-Range"] == f"bytes */{len(data)}"


def test_head(finished):
    client, job, data = finished["mp3"]
    response = client.head(job["download_url"])
    assert response.status_code == 200 and int(response.headers["Content-Length"]) == len(data)
