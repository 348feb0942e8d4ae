"""Sending a verified, already-open finished file with Range, ETag and 304 support."""
from __future__ import annotations

from flask import Response, request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from app.service import Download

ONE_YEAR = 31536000  #: seconds; the bytes of a job never change (the id is a hash of the spec)


def send_download(found: Download, *, conditional: bool = True) -> Response:
    """A response streaming `found.file` (closed when done), cacheable forever.

    The file was opened before verification, so eviction or a re-render meanwhile cannot
    swap what is sent; its size is given explicitly so Range requests work.
    """
    job_id = found.spec.id
    response = send_file(
        found.file, mimetype=found.spec.media_type, conditional=False, etag=job_id,
        download_name=f"resonant-{job_id[:12]}.{found.spec.extension}", max_age=ONE_YEAR,
    )
    response.content_length = found.size
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.headers.pop("Expires", None)
    if conditional:
        try:
            response = response.make_conditional(request.environ, accept_ranges=True,
                                                 complete_length=found.size)
        except RequestedRangeNotSatisfiable:
            found.file.close()
            raise
    return response
