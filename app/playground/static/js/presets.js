// The preset browser: grouped by family, filtered by a search field and a family select.
// Each preset has two buttons: listen (a one-click preview) and load (into the controls).

const FAMILY_ORDER = ["mood", "genre", "scene", "experimental"];

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

function matches(preset, words) {
  const text = [preset.id, preset.name, preset.description, preset.family, preset.style || "",
    ...(preset.tags || [])].join(" ").toLowerCase();
  return words.every((word) => text.includes(word));
}

export class PresetBrowser {
  /** `onListen(preset)` and `onLoad(preset)` are called by the buttons. */
  constructor({ list, search, family, count, onListen, onLoad }) {
    Object.assign(this, { list, search, family, count, onListen, onLoad });
    this.presets = [];
    search.addEventListener("input", () => this.render());
    family.addEventListener("change", () => this.render());
  }

  show(presets) {
    this.presets = presets;
    const families = [...new Set(presets.map((p) => p.family))].sort(
      (a, b) => (FAMILY_ORDER.indexOf(a) + 99) % 99 - (FAMILY_ORDER.indexOf(b) + 99) % 99 || a.localeCompare(b));
    this.family.replaceChildren(element("option", { value: "", textContent: "all" }),
      ...families.map((f) => element("option", { value: f, textContent: f })));
    this.families = families;
    this.render();
  }

  render() {
    const words = this.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const only = this.family.value;
    const groups = [];
    let shown = 0;
    for (const family of this.families || []) {
      if (only && family !== only) continue;
      const items = this.presets.filter((p) => p.family === family && matches(p, words));
      if (!items.length) continue;
      shown += items.length;
      const heading = element("h3", { className: "family" }, family, " ",
        element("span", { className: "count", textContent: `(${items.length})` }));
      const list = element("ul", { className: "presets" }, ...items.map((p) => this.item(p)));
      groups.push(element("section", { className: "family-group" }, heading, list));
    }
    this.list.replaceChildren(...groups);
    const total = this.presets.length;
    this.count.textContent = shown === total ? `${total} presets` : `${shown} of ${total} presets match`;
  }

  item(preset) {
    const listen = element("button", { type: "button", className: "listen", textContent: "▶ Listen" });
    listen.setAttribute("aria-label", `Listen to ${preset.name}`);
    listen.addEventListener("click", () => this.onListen(preset));
    const load = element("button", { type: "button", className: "load", textContent: "Load" });
    load.setAttribute("aria-label", `Load ${preset.name} into the controls`);
    load.addEventListener("click", () => this.onLoad(preset));
    const meta = `${Math.round(preset.tempo)} BPM · {${preset.params.n}/${preset.params.k}}` +
      (preset.style ? ` · ${preset.style}` : "");
    return element("li", { className: "preset" },
      element("div", { className: "preset-text" },
        element("strong", { textContent: preset.name }), " ",
        element("span", { className: "meta", textContent: meta }),
        element("p", { textContent: preset.description })),
      element("div", { className: "preset-actions" }, listen, load));
  }
}
