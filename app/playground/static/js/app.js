// Wiring: the controls, the requests they make (api.js), the drawing (geometry.js), the player.
//
// The request follows the API: a prompt alone resolves everything; a control the user moves
// becomes an override sent in `params` (or as `tempo`); with no prompt, all geometry is sent.

import * as api from "./api.js";
import { StarDrawing, keyOf, scaleOf } from "./geometry.js";
import { PresetBrowser } from "./presets.js";
import { Waveform } from "./waveform.js";

const $ = (id) => document.getElementById(id);
const TWO_PI = 6.283185;
const CONTROLS = [
  { name: "n", min: 2, max: 2000, step: 1, value: 24, hint: "complexity: points on the circle" },
  { name: "k", min: 1, max: 12, step: 1, value: 10, hint: "texture: join every k-th point (1 to n/2)" },
  { name: "omega", min: -10, max: 10, step: 0.1, value: 1, hint: "movement: spin speed, sign = direction" },
  { name: "xi", min: -10, max: 10, step: 0.1, value: 1, hint: "depth: displacement; sign = major/minor" },
  { name: "psi", min: 0, max: TWO_PI, step: 0.01, value: 0, hint: "phase (radians): turns the tonic" },
  { name: "tempo", min: 40, max: 300, step: 1, value: 120, hint: "BPM", group: "output" },
  { name: "duration", field: "duration_seconds", min: 1, max: 300, step: 1, value: 30,
    hint: "seconds (Generate)", group: "output" },
];
const GEOMETRY = ["n", "k", "omega", "xi", "psi"];
const MEDIA = { wav: "audio/wav", mp3: "audio/mpeg", midi: "audio/midi", stems: "application/zip" };
const ALWAYS = ["wav", "mp3", "midi"]; // made for every generated request; stems only when chosen
/** 422 field names (as the detail quotes them) -> the control whose error line shows it. */
const FIELD_CONTROL = {
  prompt: "prompt", format: "format", style: "style", tempo: "tempo", duration_seconds: "duration",
  "params.lock_psi_tau": "lock_psi_tau", ...Object.fromEntries(GEOMETRY.map((g) => [`params.${g}`, g])),
};

// bodyKey: the `key` of the last job body, while the controls still show that job's geometry.
const state = { overrides: new Set(), ticket: 0, styles: null, recent: [], bodyKey: null };
const star = new StarDrawing($("star"));
const waveform = new Waveform($("waveform"), $("player"));

// -- controls ---------------------------------------------------------------------------
function buildControl(spec) {
  const row = document.createElement("div");
  row.className = "slider-row";
  row.innerHTML = `
    <label for="${spec.name}-range">${spec.name}</label>
    <input type="range" id="${spec.name}-range" aria-describedby="${spec.name}-hint ${spec.name}-error">
    <input type="number" id="${spec.name}-number" aria-label="${spec.name} value"
           aria-describedby="${spec.name}-error" inputmode="decimal">
    <span class="hint" id="${spec.name}-hint">${spec.hint}</span>
    <p class="field-error" id="${spec.name}-error" hidden></p>`;
  for (const input of row.querySelectorAll("input")) {
    Object.assign(input, { min: spec.min, max: spec.max, step: spec.step, value: spec.value });
  }
  $(spec.group === "output" ? "sliders-output" : "sliders").append(row);
  const range = row.querySelector('[type="range"]');
  const number = row.querySelector('[type="number"]');
  range.addEventListener("input", () => {
    number.value = range.value;
    changed(spec.name);
  });
  number.addEventListener("input", () => {
    if (number.value !== "" && Number.isFinite(number.valueAsNumber)) range.value = number.value;
    changed(spec.name);
  });
}

/** A control's value: the number box is the truth (it may hold an out-of-range value). */
function value(name) {
  if (name === "lock_psi_tau") return $("lock_psi_tau").checked;
  const number = $(`${name}-number`);
  return number.value === "" ? NaN : number.valueAsNumber;
}

function setValue(name, v) {
  if (name === "lock_psi_tau") {
    $("lock_psi_tau").checked = Boolean(v);
    return;
  }
  const rounded = name === "psi" ? Math.round(v * 1e4) / 1e4 : v;
  $(`${name}-number`).value = String(rounded);
  $(`${name}-range`).value = String(rounded);
  if (name === "n") followN();
}

/** k's bound follows n/2: both the slider and the number box. */
function followN() {
  const n = Math.max(2, Math.min(2000, Math.round(value("n")) || 2));
  const kMax = Math.floor(n / 2);
  for (const id of ["k-range", "k-number"]) $(id).max = String(kMax);
  $("k-hint").textContent = `texture: join every k-th point (1 to ${kMax})`;
  if (value("k") > kMax) {
    $("k-number").value = String(kMax);
    $("k-range").value = String(kMax);
  }
}

function changed(name) {
  state.overrides.add(name);
  if (GEOMETRY.includes(name)) state.bodyKey = null;
  if (name === "n" || name === "k") {
    state.overrides.add("n");
    state.overrides.add("k");
  }
  if (name === "n") followN();
  clearError(name);
  redraw();
  showOverrides();
}

function redraw() {
  const p = Object.fromEntries(GEOMETRY.map((g) => [g, value(g)]));
  for (const g of GEOMETRY) if (!Number.isFinite(p[g])) return;
  star.draw(p);
  const shown = star.params;
  $("star-name").textContent = `{${shown.n}/${shown.k}}`;
  $("key-name").textContent = `tonic ${keyOf(p, state.bodyKey)}`;
  const scale = scaleOf(shown.n, shown.k);
  $("scale-name").textContent = `${scale.name} (12·k/n ≈ ${scale.step})`;
}

function showOverrides() {
  const names = [...state.overrides].filter((name) => name !== "duration"); // always sent by Generate
  $("override-note").textContent = names.length ? `Sent as overrides: ${names.join(", ")}` : "";
}

/** Put what a job or preset resolved to into the controls the user has not set. */
function fillControls(params, tempo, style) {
  for (const [name, v] of Object.entries(params || {})) {
    if (!state.overrides.has(name) && (GEOMETRY.includes(name) || name === "lock_psi_tau")) setValue(name, v);
  }
  if (tempo !== undefined && !state.overrides.has("tempo")) setValue("tempo", tempo);
  if (style && state.styles && !state.overrides.has("style")) $("style").value = style;
  redraw();
}

function showResolved(body) {
  const p = body.params;
  const text = {
    preset: body.preset || "none (geometry only)",
    style: body.style || "–",
    params: `n ${p.n} · k ${p.k} · omega ${p.omega} · xi ${p.xi} · psi ${Number(p.psi).toFixed(4)} · `
      + `lock_psi_tau ${p.lock_psi_tau}`,
    tempo: `${body.tempo} BPM`,
    key: `${keyOf(p, body.key)}, ${scaleOf(p.n, p.k).name}`,
  };
  for (const [field, t] of Object.entries(text)) $("resolved").querySelector(`[data-field="${field}"]`).textContent = t;
  state.bodyKey = body.key || null;
  fillControls(p, body.tempo, body.style);
}

// -- the request --------------------------------------------------------------------------
/** The request body for "preview" or "generate", or null (an error is shown) if a box is invalid. */
function requestBody(kind) {
  const body = {};
  const prompt = $("prompt").value;
  if (prompt !== "") body.prompt = prompt;
  const names = [...GEOMETRY, "lock_psi_tau"].filter((g) => prompt === "" || state.overrides.has(g));
  const wanted = [...names, ...(state.overrides.has("tempo") ? ["tempo"] : [])];
  if (kind === "generate") wanted.push("duration");
  for (const name of wanted) {
    if (name !== "lock_psi_tau" && !Number.isFinite(value(name))) {
      showFieldError(name, `'${name}' must be a number`);
      setStatus(`Check ${name}: it must be a number.`, "error");
      return null;
    }
  }
  if (names.length) body.params = Object.fromEntries(names.map((g) => [g, value(g)]));
  if (wanted.includes("tempo")) body.tempo = value("tempo");
  if (kind === "generate") {
    body.duration_seconds = value("duration");
    body.format = $("format").value;
  }
  if (state.styles && state.overrides.has("style") && $("style").value) body.style = $("style").value;  // only a style the user chose
  if ($("loop").checked) body.loop = true;
  return body;
}

function onBusy(seconds, attempt) {
  setStatus(`The service is busy, retrying in ${seconds} s (attempt ${attempt}).`, "busy");
}

function setStatus(text, kind = "info") {
  $("status").textContent = text;
  $("status").dataset.kind = kind;
}

function setSteps(status) {
  for (const li of $("steps").children) {
    const order = ["pending", "processing", "complete"];
    const at = order.indexOf(status);
    const mine = order.indexOf(li.dataset.step);
    li.className = status === "failed" && mine === at + 1 ? "failed" : mine < at ? "done" : mine === at ? "current" : "";
    li.toggleAttribute("aria-current", mine === at);
  }
}

function showFieldError(control, detail) {
  const line = $(`${control}-error`);
  line.textContent = detail;
  line.hidden = false;
  for (const id of [control, `${control}-number`, `${control}-range`]) $(id)?.setAttribute("aria-invalid", "true");
}

function clearError(control) {
  const line = $(`${control}-error`);
  if (line) line.hidden = true;
  for (const id of [control, `${control}-number`, `${control}-range`]) $(id)?.removeAttribute("aria-invalid");
}

function clearErrors() {
  for (const line of document.querySelectorAll(".field-error")) line.hidden = true;
  for (const input of document.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function showError(error) {
  const control = FIELD_CONTROL[error.field];
  if ((error.status === 422 || error.status === 400) && control && $(`${control}-error`)) {
    showFieldError(control, error.detail);
    setStatus(`${error.status}: ${error.detail}`, "error");
  } else {
    setStatus(error.status ? `${error.status}: ${error.detail}` : error.message, "error");
  }
  setSteps(null);
}

function showCurl(text) {
  $("curl").value = text;
}

// -- playing ------------------------------------------------------------------------------
async function play(blob, label) {
  const url = URL.createObjectURL(blob);
  const player = $("player");
  player.src = url;
  player.loop = $("loop").checked;  // a loop is heard coming round
  $("now-playing").textContent = label;
  remember(url, label);
  await waveform.show(blob).catch((error) => {
    waveform.clear();
    $("now-playing").textContent = `${label} (no waveform: ${error.message})`;
  });
  try {
    await player.play();
    return true;
  } catch {
    return false; // autoplay refused: the caller says "press play"
  }
}

function remember(url, label) {
  state.recent.unshift({ url, label });
  for (const old of state.recent.splice(4)) URL.revokeObjectURL(old.url);
  $("recent").replaceChildren(...state.recent.map(({ url: u, label: l }, i) => {
    const li = document.createElement("li");
    const audio = document.createElement("audio");
    Object.assign(audio, { controls: true, src: u, preload: "none" });
    audio.setAttribute("aria-label", `Clip ${i + 1}: ${l}`);
    const name = document.createElement("span");
    name.textContent = l;
    li.append(name, audio);
    return li;
  }));
}

async function preview(body, label, { resolve = true } = {}) {
  const ticket = ++state.ticket;
  clearErrors();
  setSteps(null);
  setStatus(`Rendering a 5 s preview of ${label}…`);
  showCurl(api.curl("POST", `${api.BASE}/preview`, body, { output: "preview.wav" }));
  try {
    const { blob, jobId } = await api.preview(body, { onBusy });
    if (ticket !== state.ticket) return;
    const playing = await play(blob, `5 s clip: ${label}`);
    setStatus(playing ? `Playing the 5 s preview of ${label}.` : `The preview of ${label} is ready: press play.`);
    if (resolve && jobId) showResolved(await api.job(jobId, { onBusy }));
  } catch (error) {
    if (ticket === state.ticket) showError(error);
  }
}

async function finish(body, format, ticket, onStatus) {
  const submitted = await api.generate({ ...body, format }, { onBusy });
  if (onStatus) onStatus(submitted);
  const done = submitted.status === "complete" ? submitted
    : await api.pollJob(submitted.job_id, onStatus, { onBusy });
  if (ticket === state.ticket) {
    const link = $(`dl-${format}`);
    link.href = done.download_url;
    link.type = MEDIA[format];
    link.download = "";
  }
  return done;
}

async function generate() {
  const body = requestBody("generate");
  if (!body) return;
  const ticket = ++state.ticket;
  clearErrors();
  for (const link of document.querySelectorAll(".dl")) link.removeAttribute("href");
  setSteps(null);
  setStatus("Submitting the job…");
  showCurl(api.curl("POST", `${api.BASE}/generate`, body));
  const label = body.prompt ? `“${body.prompt}”` : `{${body.params.n}/${body.params.k}}`;
  try {
    const main = await finish(body, body.format, ticket, (job) => {
      if (ticket !== state.ticket) return;
      setSteps(job.status);
      setStatus(`Job ${job.job_id.slice(0, 12)}…: ${job.status}`);
      showResolved(job);
    });
    if (ticket !== state.ticket) return;
    showCurl([api.curl("POST", `${api.BASE}/generate`, body),
      `curl ${new URL(`${api.BASE}/jobs/${main.job_id}`, location.origin).href}`,
      `curl -OJ ${new URL(main.download_url, location.origin).href}`].join("\n\n"));
    // The other formats of the same request: their links light up as they finish.
    const others = ALWAYS.filter((f) => f !== body.format);
    const rest = Promise.all(others.map((f) => finish(body, f, ticket)));
    const audioJob = ["midi", "stems"].includes(body.format) ? (await rest)[others.indexOf("wav")] : main;
    const response = await api.request("GET", audioJob.download_url, { onBusy });
    const blob = await response.blob();
    if (ticket !== state.ticket) return;
    await play(blob, `Generated: ${label}, ${main.duration_seconds} s`);
    await rest;
    const stems = body.format === "stems" ? ", and the stems ZIP" : "";
    if (ticket === state.ticket) setStatus(`Complete: ${label}. WAV, MP3 and MIDI${stems} are ready to download.`);
  } catch (error) {
    if (ticket === state.ticket) showError(error);
  }
}

// -- start ----------------------------------------------------------------------------------
CONTROLS.forEach(buildControl);
followN();
redraw();
$("lock_psi_tau").addEventListener("change", () => changed("lock_psi_tau"));
$("style").addEventListener("change", () => {
  state.overrides[$("style").value ? "add" : "delete"]("style");
  const chosen = (state.styles || []).find((s) => s.id === $("style").value);
  $("style-desc").textContent = chosen ? chosen.description : "";
  showOverrides();
});
$("prompt").addEventListener("input", () => clearError("prompt"));
$("prompt-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = requestBody("preview");
  if (body) preview(body, body.prompt ? `“${body.prompt}”` : "the geometry");
});
$("generate").addEventListener("click", generate);
$("use-resolved").addEventListener("click", () => {
  state.overrides.clear();
  showOverrides();
  clearErrors();
  setStatus("Controls follow the prompt again: the next request sends the prompt alone.");
});
$("copy-curl").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("curl").value);
    setStatus("The curl command is on the clipboard.");
  } catch {
    $("curl").select();
    setStatus("Selected: press Ctrl+C (⌘C) to copy.");
  }
});

const browser = new PresetBrowser({
  list: $("preset-list"), search: $("preset-search"), family: $("preset-family"), count: $("preset-count"),
  onListen: (p) => preview({ prompt: p.name }, p.name, { resolve: false }),
  onLoad: (p) => {
    $("prompt").value = p.name;
    state.overrides.clear();
    showOverrides();
    clearErrors();
    showResolved({ preset: p.id, style: p.style, params: p.params, tempo: p.tempo });
    setStatus(`Loaded ${p.name}: press Preview or Generate.`);
  },
});
api.presets().then((body) => browser.show(body.presets), (error) => showError(error));

// Styles exist once the API documents GET /styles: only then is the select shown.
api.openapi().then(async (doc) => {
  if (!doc.paths || !doc.paths[`${api.BASE}/styles`]) return;
  const body = await api.styles();
  state.styles = body.styles || [];
  $("style").append(...state.styles.map((s) => new Option(s.name, s.id)));
  $("style-field").hidden = state.styles.length === 0;
}).catch((error) => setStatus(`Styles could not be loaded: ${error.detail || error.message}`, "error"));
