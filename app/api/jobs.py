"""POST /generate, GET /jobs/{job_id}, GET /jobs/{job_id}/download."""
from __future__ import annotations

from typing import Any

from flask import Response

from app.api import BINARY, ApiBlueprint
from app.api.files import send_download
from app.schemas import AcceptedJobSchema, GenerateSchema, JobSchema
from app.service import COMPLETE, job_service

blp = ApiBlueprint("jobs", __name__, url_prefix="/api/v1", description="Generation jobs")

DOWNLOAD = ("The generated file: audio/wav, audio/mpeg, audio/midi, or application/zip for stems "
            "(strong ETag = job id)")
PARTIAL = "Partial content for a Range request"
LOCATION = {"Location": {"description": "URL of the job", "schema": {"type": "string"}}}


@blp.route("/generate", methods=["POST"])
@blp.arguments(GenerateSchema)
@blp.response(202, AcceptedJobSchema, headers=LOCATION, description=(
    "Accepted: the job is new, pending, processing, or a failed job queued again. "
    "Poll the Location (or wait for the callback_url)."))
@blp.alt_response(200, schema=AcceptedJobSchema, headers=LOCATION, success=True, description=(
    "The identical job already exists and is complete (with its download_url)."))
@blp.errors(400, 413, 422, 503)
def generate(body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Submit a generation job; the same request always yields the same job."""
    callback_url = body.get("callback_url")
    job = job_service.submit(job_service.resolve(body), callback_url=callback_url)
    status = 200 if job.status == COMPLETE else 202
    answer = job.to_dict() if callback_url is None else {**job.to_dict(), "callback_url": callback_url}
    return answer, status, {"Location": f"/api/v1/jobs/{job.spec.id}"}


@blp.route("/jobs/<job_id:job_id>", methods=["GET"])
@blp.raw_response(200, JobSchema)
@blp.errors(404)
def get_job(job_id: str) -> Response:
    """Poll a job: pending, processing, complete (with download_url) or failed (with error)."""
    # The hottest route (clients poll it): Job.to_dict() is already exactly JobSchema's shape
    # (the contract tests check every answer against the OpenAPI document), so it is sent as it
    # is rather than dumped through marshmallow a second time, and a complete job's body is
    # encoded once per process.
    return Response(job_service.job_json(job_service.get(job_id)), mimetype="application/json")


@blp.route("/jobs/<job_id:job_id>/download", methods=["GET"])
@blp.response(200, BINARY, description=DOWNLOAD, content_type="audio/wav")
@blp.alt_response(200, schema=BINARY, description=DOWNLOAD, content_type="audio/mpeg", success=True)
@blp.alt_response(200, schema=BINARY, description=DOWNLOAD, content_type="audio/midi", success=True)
@blp.alt_response(200, schema=BINARY, description=DOWNLOAD, content_type="application/zip", success=True)
@blp.alt_response(206, schema=BINARY, description=PARTIAL, content_type="audio/wav", success=True)
@blp.alt_response(206, schema=BINARY, description=PARTIAL, content_type="audio/mpeg", success=True)
@blp.alt_response(206, schema=BINARY, description=PARTIAL, content_type="audio/midi", success=True)
@blp.alt_response(206, schema=BINARY, description=PARTIAL, content_type="application/zip", success=True)
@blp.alt_response(304, description="Not modified (If-None-Match matched the ETag)", success=True)
@blp.errors(404, 409, 416)
def download(job_id: str) -> Response:
    """Download the finished file: audio/wav, audio/mpeg, audio/midi or application/zip (stems)."""
    return send_download(job_service.open_download(job_id))
