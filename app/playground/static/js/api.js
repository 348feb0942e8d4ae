// The public API, as the page uses it: same-origin fetches, JSON errors, 503/429 retries.
//
//   await api.preview(body)          -> {blob, jobId}     (POST /api/v1/preview)
//   await api.generate(body)         -> job body           (POST /api/v1/generate)
//   await api.pollJob(id, onStatus)  -> the finished job   (GET /api/v1/jobs/{id}, with backoff)
//
// Every failure is an ApiError carrying the status and the service's {"detail": ...}; a 503 or
// 429 is retried after its Retry-After, and `onBusy(seconds, attempt)` is told first.

export const BASE = "/api/v1";
const MAX_RETRIES = 6;
const POLL_FIRST_MS = 150;
const POLL_MAX_MS = 2000;
const POLL_LIMIT_MS = 5 * 60 * 1000;

export class ApiError extends Error {
  constructor(status, detail, body = {}) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.body = body;
  }

  /** The request field a 422 names ("params.n", "tempo", ...), or null. */
  get field() {
    const quoted = /^'([^']+)'/.exec(this.detail || "");
    if (quoted) return quoted[1];
    const errors = this.body && this.body.errors;
    if (errors && typeof errors === "object") {
      const [name, value] = Object.entries(errors)[0] || [];
      if (name && value && !Array.isArray(value) && typeof value === "object") {
        return `${name}.${Object.keys(value)[0]}`;
      }
      return name || null;
    }
    return null;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function retryAfterSeconds(response) {
  const value = Number.parseFloat(response.headers.get("Retry-After") || "");
  return Number.isFinite(value) && value >= 0 ? Math.min(value, 30) : 2;
}

async function errorOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  const detail = typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`;
  return new ApiError(response.status, detail, body);
}

/** fetch() against our own origin; 503/429 retried after Retry-After; other errors thrown. */
export async function request(method, path, { body, onBusy } = {}) {
  const init = { method, headers: { Accept: "application/json, audio/*" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  for (let attempt = 1; ; attempt += 1) {
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiError(0, `The service did not answer (${error.message})`);
    }
    if (response.ok) return response;
    if ((response.status === 503 || response.status === 429) && attempt <= MAX_RETRIES) {
      const seconds = retryAfterSeconds(response);
      if (onBusy) onBusy(seconds, attempt, (await errorOf(response)).detail);
      await sleep(seconds * 1000);
      continue;
    }
    throw await errorOf(response);
  }
}

async function json(method, path, options) {
  const response = await request(method, path, options);
  return response.json();
}

export const presets = () => json("GET", `${BASE}/presets`);
export const openapi = () => json("GET", `${BASE}/openapi.json`);
export const styles = () => json("GET", `${BASE}/styles`);
export const job = (id, options) => json("GET", `${BASE}/jobs/${encodeURIComponent(id)}`, options);
export const generate = (body, options) => json("POST", `${BASE}/generate`, { ...options, body });

/** POST /preview: the 5 s clip as a Blob, and the id of its job (the ETag) for GET /jobs/{id}. */
export async function preview(body, options) {
  const response = await request("POST", `${BASE}/preview`, { ...options, body });
  const etag = (response.headers.get("ETag") || "").replace(/^W\//, "").replaceAll('"', "");
  return { blob: await response.blob(), jobId: etag || null };
}

/** Poll a job until complete or failed, backing off from 150 ms to 2 s between polls. */
export async function pollJob(id, onStatus, options = {}) {
  let delay = POLL_FIRST_MS;
  const started = performance.now();
  for (;;) {
    const body = await job(id, options);
    if (onStatus) onStatus(body);
    if (body.status === "complete") return body;
    if (body.status === "failed") throw new ApiError(500, `The job failed: ${body.error || "no reason given"}`, body);
    if (performance.now() - started > POLL_LIMIT_MS) throw new ApiError(0, "The job did not finish in 5 minutes");
    if (options.signal && options.signal.aborted) throw new ApiError(0, "Cancelled");
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * 1.6);
  }
}

function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The request as a curl command line, runnable as printed (absolute URL of this origin). */
export function curl(method, path, body, { output } = {}) {
  const url = new URL(path, window.location.origin).href;
  const lines = [`curl -X ${method} ${url}`];
  if (body !== undefined) {
    lines.push(`  -H "Content-Type: application/json"`);
    lines.push(`  -d ${shellQuote(JSON.stringify(body))}`);
  }
  if (output) lines.push(`  --output ${output}`);
  return lines.join(" \\\n");
}
