// The waveform of a clip: decoded with Web Audio, drawn as min/max columns on a <canvas>,
// with the <audio> element's play position over it. Colours come from the page's CSS.

function colour(canvas, name, fallback) {
  return getComputedStyle(canvas).getPropertyValue(name).trim() || fallback;
}

export class Waveform {
  constructor(canvas, audio) {
    this.canvas = canvas;
    this.audio = audio;
    this.columns = null; // [min, max] per pixel column
    audio.addEventListener("timeupdate", () => this.paint());
    audio.addEventListener("seeked", () => this.paint());
    canvas.addEventListener("click", (event) => this.seek(event));
    window.addEventListener("resize", () => this.paint());
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.paint());
  }

  /** Decode `blob` (WAV or MP3) and draw it; returns the clip's duration in seconds. */
  async show(blob) {
    const data = await blob.arrayBuffer();
    // An OfflineAudioContext only decodes: it needs no user gesture and plays nothing.
    const context = new OfflineAudioContext(1, 1, 44100);
    const buffer = await context.decodeAudioData(data);
    this.columns = this.reduce(buffer, 600);
    this.paint();
    return buffer.duration;
  }

  clear() {
    this.columns = null;
    this.paint();
  }

  reduce(buffer, width) {
    const channels = [];
    for (let c = 0; c < buffer.numberOfChannels; c += 1) channels.push(buffer.getChannelData(c));
    const per = Math.max(1, Math.floor(buffer.length / width));
    const columns = [];
    for (let x = 0; x < width; x += 1) {
      let lo = 0;
      let hi = 0;
      const end = Math.min(buffer.length, (x + 1) * per);
      for (const samples of channels) {
        for (let i = x * per; i < end; i += 1) {
          const v = samples[i];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      columns.push([lo, hi]);
    }
    return columns;
  }

  paint() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, width, height);
    const mid = height / 2;
    g.fillStyle = colour(canvas, "--muted", "#888");
    g.fillRect(0, mid, width, Math.max(1, ratio));
    if (!this.columns) return;
    const played = this.audio.duration ? this.audio.currentTime / this.audio.duration : 0;
    const wave = colour(canvas, "--wave", "#3b6");
    const done = colour(canvas, "--accent", "#36c");
    const n = this.columns.length;
    for (let x = 0; x < width; x += 1) {
      const [lo, hi] = this.columns[Math.min(n - 1, Math.floor((x / width) * n))];
      g.fillStyle = x / width <= played ? done : wave;
      const top = mid - hi * mid * 0.95;
      g.fillRect(x, top, 1, Math.max(1, (hi - lo) * mid * 0.95));
    }
  }

  seek(event) {
    if (!this.audio.duration) return;
    const box = this.canvas.getBoundingClientRect();
    this.audio.currentTime = ((event.clientX - box.left) / box.width) * this.audio.duration;
  }
}
