// The star polygon {n/k}, computed in the page, and the names of what it means musically.
//
// n points on a circle joined every k (gcd(n, k) separate polygons when they share a factor).
// psi turns the figure (and names the tonic), xi displaces the points radially, omega spins
// it: omega radians per 5 s, so the sign is the direction. README's table is the source.

const SVG = "http://www.w3.org/2000/svg";
const RADIUS = 92;
const SPIN_PER_SECOND = 0.2; // radians per second per unit of omega
export const TONICS = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"];
export const SCALES = ["pentatonic", "chromatic", "whole-tone", "octatonic", "hexatonic", "diatonic", "tritone"];

export function gcd(a, b) {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y) [x, y] = [y, x % y];
  return x;
}

/** Tonic pitch class from psi: round(12·psi/2π) mod 12, 0 = C. */
export function tonicOf(psi) {
  return ((Math.round((12 * psi) / (2 * Math.PI)) % 12) + 12) % 12;
}

/** The scale family picked by round(12·k/n): 0 pentatonic … 5 diatonic, 6 tritone. */
export function scaleOf(n, k) {
  const step = Math.round((12 * k) / n);
  return { step, name: SCALES[Math.max(0, Math.min(6, step))] };
}

/** "D major" from the geometry; a job body's own `key` wins when it has one. */
export function keyOf(params, bodyKey) {
  if (typeof bodyKey === "string" && bodyKey) return bodyKey;
  if (bodyKey && typeof bodyKey === "object" && bodyKey.tonic) {
    return [bodyKey.tonic, bodyKey.mode].filter(Boolean).join(" ");
  }
  return `${TONICS[tonicOf(params.psi)]} ${params.xi >= 0 ? "major" : "minor"}`;
}

/** Vertex positions of {n/k}: angle 2πi/n from the top, radius displaced by xi. */
export function vertices(n, k, xi) {
  const depth = Math.max(-1, Math.min(1, xi / 10)) * 0.22 * RADIUS;
  const points = [];
  for (let i = 0; i < n; i += 1) {
    const angle = (2 * Math.PI * i) / n - Math.PI / 2;
    // xi perturbs each point along the walk order, so |xi| is how far and its sign the way.
    const r = RADIUS + depth * Math.sin((2 * Math.PI * i * k) / n * 3 + i * 0.7);
    points.push([r * Math.cos(angle), r * Math.sin(angle)]);
  }
  return points;
}

/** The SVG path "d" of {n/k}: gcd(n,k) closed cycles, each visiting every k-th point. */
export function starPath(points, k) {
  const n = points.length;
  const cycles = gcd(n, k);
  const parts = [];
  for (let start = 0; start < cycles; start += 1) {
    let i = start;
    const [x0, y0] = points[i];
    parts.push(`M${x0.toFixed(2)} ${y0.toFixed(2)}`);
    do {
      i = (i + k) % n;
      const [x, y] = points[i];
      parts.push(`L${x.toFixed(2)} ${y.toFixed(2)}`);
    } while (i !== start);
    parts.push("Z");
  }
  return parts.join("");
}

/** Draws and spins the figure inside an <svg> built by index.html. */
export class StarDrawing {
  constructor(svg) {
    this.svg = svg;
    this.rotor = svg.querySelector("#star-rotor");
    this.path = svg.querySelector("#star-path");
    this.pointsGroup = svg.querySelector("#star-points");
    this.params = { n: 24, k: 10, omega: 1, xi: 1, psi: 0 };
    this.spin = 0;
    this.last = null;
    this.still = window.matchMedia("(prefers-reduced-motion: reduce)");
    this.frame = this.frame.bind(this);
    requestAnimationFrame(this.frame);
  }

  /** Redraw for new params: {n, k, omega, xi, psi}. */
  draw(params) {
    const n = Math.max(2, Math.min(2000, Math.round(params.n)));
    const k = Math.max(1, Math.min(Math.floor(n / 2), Math.round(params.k)));
    this.params = { ...params, n, k };
    const points = vertices(n, k, params.xi);
    this.path.setAttribute("d", starPath(points, k));
    const dot = Math.max(0.6, Math.min(3.2, 40 / n));
    const tonic = tonicOf(params.psi);
    const circles = [];
    points.forEach(([x, y], i) => {
      const c = document.createElementNS(SVG, "circle");
      c.setAttribute("cx", x.toFixed(2));
      c.setAttribute("cy", y.toFixed(2));
      c.setAttribute("r", (i === 0 ? dot * 1.8 + 1 : dot).toFixed(2));
      c.setAttribute("class", i === 0 ? "vertex tonic" : "vertex");
      circles.push(c);
    });
    this.pointsGroup.replaceChildren(...circles);
    this.svg.dataset.n = String(n);
    this.svg.dataset.k = String(k);
    this.svg.dataset.tonic = String(tonic);
    this.place();
  }

  place() {
    const turn = this.params.psi + this.spin; // radians; psi = 0 puts point 0 at the top
    this.rotor.setAttribute("transform", `rotate(${((turn * 180) / Math.PI).toFixed(2)})`);
  }

  frame(now) {
    if (this.last !== null && !this.still.matches) {
      const dt = Math.min(0.1, (now - this.last) / 1000);
      this.spin = (this.spin + this.params.omega * SPIN_PER_SECOND * dt) % (2 * Math.PI);
      this.place();
    }
    this.last = now;
    requestAnimationFrame(this.frame);
  }
}
