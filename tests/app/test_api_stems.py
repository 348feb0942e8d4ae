"""format "stems" through the API: a job renders to a file on disk, downloads keep ETag and Range."""
from __future__ import annotations

import io
import json
import os
import zipfile

import pytest

from app.domain import HashMismatch
from engine.spec import RenderSpec

API = "/api/v1"
BODY = {"params": {"n": 12, "k": 5}, "duration_seconds": 4, "format": "stems", "style": "funk"}


@pytest.fixture(scope="module")
def stems_job(tmp_path_factory, helpers):
    """One app with a finished stems job: (client, job body, the downloaded bytes, cache dir)."""
    from app import create_app

    cache_dir = str(tmp_path_factory.mktemp("cache"))
    app = create_app({"TESTING": True, "RESONANT_CACHE_DIR": cache_dir})
    app.test_client_class = helpers.BufferedClient
    client = app.test_client()
    job = helpers.ApiHelper(client).complete(BODY)
    yield client, job, client.get(job["download_url"]).data, cache_dir
    app.extensions["resonant"].shutdown()


def test_the_job_body_says_stems(stems_job):
    _, job, _, _ = stems_job
    assert job["format"] == "stems" and job["status"] == "complete"


def test_download_is_a_zip_with_etag(stems_job):
    client, job, data, _ = stems_job
    response = client.get(job["download_url"])
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f"inline; filename=resonant-{job['job_id'][:12]}.zip"
    assert response.headers["ETag"] == f'"{job["job_id"]}"'
    assert response.headers["Accept-Ranges"] == "bytes"
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert archive.namelist() == manifest["files"] and manifest["job_id"] == job["job_id"]
    assert {"drums", "bass"} <= {v["role"] for v in manifest["voices"]}
    assert client.get(job["download_url"], headers={"If-None-Match": f'"{job["job_id"]}"'}).status_code == 304


@pytest.mark.parametrize(("range_header", "start", "stop"), [
    ("bytes=0-99", 0, 100), ("bytes=1000-", 1000, None), ("bytes=-64", -64, None),
])
def test_range_gives_206(stems_job, range_header, start, stop):
    client, job, data, _ = stems_job
    response = client.get(job["download_url"], headers={"Range": range_header})
    assert response.status_code == 206
    expected = data[start:stop]
    assert response.data == expected and response.mimetype == "application/zip"
    first = start if start >= 0 else len(data) + start
    assert response.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"


def test_the_file_is_stored_with_its_checksum_and_no_scratch_left(stems_job):
    _, job, data, cache_dir = stems_job
    import hashlib

    objects = os.path.join(cache_dir, "objects")
    assert sorted(os.listdir(objects)) == [f"{job['job_id']}.meta.json", f"{job['job_id']}.zip"]
    with open(os.path.join(objects, f"{job['job_id']}.meta.json")) as fh:
        meta = json.load(fh)
    assert meta == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_record_done_file_checks_the_done_record(tmp_path):
    """A file that differs from `done` is refused (HashMismatch) and nothing is stored."""
    from app.jobstore import FileJobStore
    from app.store import Store

    store = FileJobStore(Store(str(tmp_path / "cache")), stale_after=10.0)
    spec = RenderSpec(n=12, k=5, omega=1.0, xi=1.0, psi=0.0, lock_psi_tau=True, format="stems")
    first = store.disk.temp_object_path(spec)
    with open(first, "wb") as fh:
        fh.write(b"PK first")
    done = store.record_done_file(spec, first)
    assert done.size == 8 and not os.path.exists(first)
    opened = store.open_object(spec)
    assert opened is not None and opened[0].read() == b"PK first"
    opened[0].close()
    other = store.disk.temp_object_path(spec)
    with open(other, "wb") as fh:
        fh.write(b"PK other")
    with pytest.raises(HashMismatch):
        store.record_done_file(spec, other)
    with open(store.disk.object_path(spec), "rb") as fh:
        assert fh.read() == b"PK first"
