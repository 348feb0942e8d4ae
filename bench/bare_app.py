"""The peer of `GET /api/v1/jobs/{id}`: a bare Flask endpoint returning a small JSON body.

Served by gunicorn with the service's own config file (same workers, worker class, threads),
so the ratio measures what our job lookup costs on top of Flask + gunicorn.
"""
from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/api/v1/jobs/<job_id>")
def job(job_id: str):
    return jsonify(job_id=job_id, status="complete", download_url=f"/api/v1/jobs/{job_id}/download")
