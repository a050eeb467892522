// The compound plan: one request (GET /compounds/{id}/plan) draws every building, flat
// and device; the live stream moves alarms and cases, a light poll of the devices'
// states (/plan/states) keeps online/offline. Zoom with the wheel or the buttons, pan
// by dragging; devices closer than a few pixels are drawn as one cluster (click to
// zoom in), except alarming ones, which are drawn on their own, last, on top.
// Plain SVG with a viewBox, no library.

import { buildingName, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const STATES_REFRESH_MS = 60_000; // online/offline comes from heartbeats, not the stream
const CLUSTER_PX = 16; // devices nearer than this on screen are drawn as one cluster
const MARKER_PX = 4.5; // a device's radius on screen, whatever the zoom
const ALARM_PX = 7; // an alarming device: bigger, and never in a cluster
const LABEL_PX = 13; // building and grid labels on screen
const ZOOM_STEP = 1.6; // one button press or a few wheel notches
const ZOOM_MAX = 60; // times the whole plan: a flat's devices a finger apart on a phone
const DRAG_PX = 4; // a pointer that moved less than this clicked
const WORST = ["in_hand", "offline", "unseen", "ok"]; // a cluster takes its worst member's state
const OPEN_CASE = new Set(["new", "dispatched", "acknowledged", "in_progress", "reopened"]);
const AWAITING = new Set(["new", "dispatched", "reopened"]);
const SEVERITY_RANK = { critical: 0, major: 1, minor: 2, warning: 3 };
export const TAGS = ["party_member", "empty_nest", "elderly", "hardship", "disabled", "rented", "vacant"];
export const STATES = ["alarming", "in_hand", "offline", "unseen", "ok"];

const plan = {
  api: null,
  onDevice: null,
  onCase: null,
  compounds: [],
  compound: null,
  data: null,
  devices: new Map(), // id -> device as the plan route gave it, kept current
  alarms: new Map(), // open alarm id -> {severity, device_id, flat}
  flats: new Map(),
  home: null, // the view that shows the whole plan
  view: null,
  overlays: { tags: false, grids: false },
  hiddenTags: new Set(),
  frame: 0,
  timer: null,
};

// --- loading ------------------------------------------------------------------------------

export async function loadPlan({ api, onDevice, onCase }) {
  Object.assign(plan, { api, onDevice, onCase });
  const compounds = await api("/compounds?limit=100");
  plan.compounds = compounds.data.map((c) => c.id);
  if (!plan.compounds.length) return;
  await show(plan.compounds[0]);
  clearInterval(plan.timer);
  plan.timer = setInterval(() => refreshPlanStates().catch(() => {}), STATES_REFRESH_MS);
}

async function show(compound) {
  plan.compound = compound;
  plan.data = await plan.api(`/compounds/${encodeURIComponent(compound)}/plan`);
  plan.devices = new Map(plan.data.devices.map((d) => [d.id, { ...d }]));
  plan.flats = new Map(plan.data.flats.map((f) => [f.address, { ...f }]));
  plan.alarms = new Map(plan.data.alarms.map((a) => [a.id, a]));
  const b = plan.data.bounds;
  plan.home = { x: b.x0, y: -b.y1, w: b.x1 - b.x0, h: b.y1 - b.y0 };
  plan.view = { ...plan.home };
  draw();
}

// The district view's drill-down: this compound's plan (listed in the selector if the
// first page of compounds left it out).
export async function showPlanOf(compound) {
  if (!plan.compounds.includes(compound)) plan.compounds.push(compound);
  await show(compound);
}

export async function refreshPlanStates() {
  if (!plan.compound) return;
  const page = await plan.api(`/compounds/${encodeURIComponent(plan.compound)}/plan/states`);
  for (const s of page.data) {
    const d = plan.devices.get(s.id);
    if (!d) continue;
    const before = d.state;
    Object.assign(d, s);
    if (before !== d.state) paint(d);
  }
  schedule();
}

// --- live changes ---------------------------------------------------------------------------

// An alarm change from the stream: the device (or flat) takes or loses the alarm.
export function planAlarm(a) {
  if (!plan.data) return;
  if (a.change === "cleared") plan.alarms.delete(a.alarm_id);
  else plan.alarms.set(a.alarm_id, { severity: a.severity, device_id: a.device_id, flat: a.flat });
  const d = a.device_id ? plan.devices.get(a.device_id) : null;
  if (d) {
    const ids = new Set(d.alarms);
    if (a.change === "cleared") ids.delete(a.alarm_id);
    else ids.add(a.alarm_id);
    d.alarms = [...ids];
    d.alarm_severity = worstSeverity(d.alarms);
    d.state = stateOf(d);
    paint(d);
  } else if (a.flat && plan.flats.has(a.flat)) {
    const f = plan.flats.get(a.flat);
    const ids = new Set(f.alarms);
    if (a.change === "cleared") ids.delete(a.alarm_id);
    else ids.add(a.alarm_id);
    f.alarms = [...ids];
    drawFlatAlarms();
  }
  schedule();
}

// The board's cases (after every case event): which devices and flats have open ones.
export function planCases(cases) {
  if (!plan.data) return;
  const byDevice = new Map();
  const byFlat = new Map();
  const worked = new Set();
  for (const c of cases) {
    if (!OPEN_CASE.has(c.state) || c.compound !== plan.compound) continue;
    const [map, key] = c.device_id ? [byDevice, c.device_id] : [byFlat, c.flat];
    if (!key) continue;
    map.set(key, [...(map.get(key) ?? []), c.id]);
    if (!AWAITING.has(c.state)) worked.add(c.id);
  }
  for (const d of plan.devices.values()) {
    const ids = byDevice.get(d.id) ?? [];
    const before = d.state;
    d.cases = ids;
    d.worked = ids.some((id) => worked.has(id));
    d.state = stateOf(d);
    if (before !== d.state) paint(d);
  }
  for (const f of plan.flats.values()) f.cases = byFlat.get(f.address) ?? [];
  schedule();
}

function worstSeverity(ids) {
  const found = ids.map((id) => plan.alarms.get(id)?.severity).filter(Boolean);
  found.sort((a, b) => (SEVERITY_RANK[a] ?? 9) - (SEVERITY_RANK[b] ?? 9));
  return found[0] ?? null;
}

function stateOf(d) {
  if (d.alarms.length) return "alarming";
  if (d.worked ?? d.state === "in_hand") return "in_hand";
  if (!d.last_seen) return "unseen";
  return d.online ? "ok" : "offline";
}

// What the device pane shows under a device: its open cases (click-through) and alarms.
export function deviceLinks(id) {
  const d = plan.devices.get(id);
  if (!d) return [];
  const out = [];
  const place = d.flat ?? d.address;
  out.push(node("p", { className: "plan-state", textContent: `${t(`plan.state.${d.state}`)}${place ? ` · ${place}` : ""}` }));
  const cases = [...d.cases, ...(d.flat ? plan.flats.get(d.flat)?.cases ?? [] : [])];
  if (cases.length) {
    const buttons = cases.map((id) => {
      const b = node("button", { className: "open-case", textContent: `${t("plan.open_case")} #${id}` });
      b.dataset.caseId = String(id);
      b.addEventListener("click", () => plan.onCase?.(id));
      return b;
    });
    out.push(node("div", { className: "actions" }, buttons));
  }
  return out;
}

// --- drawing --------------------------------------------------------------------------------

export function redrawPlan() {
  if (plan.data) draw(); // the language changed: labels and legend
}

function draw() {
  const box = document.querySelector("#plan-svg");
  const svg = svgEl("svg", { class: "plan", role: "img", "aria-label": t("plan") });
  const layers = {};
  for (const name of ["buildings", "flats", "grids", "labels", "devices", "clusters", "alarming"]) {
    layers[name] = svgEl("g", { class: `layer-${name}` });
    svg.append(layers[name]);
  }
  plan.layers = layers;
  plan.svg = svg;
  for (const b of plan.data.buildings) {
    layers.buildings.append(
      svgEl("rect", {
        class: "building",
        x: b.x - b.width / 2,
        y: -(b.y + b.depth / 2),
        width: b.width,
        height: b.depth,
        "data-building": b.id,
      }),
    );
    const label = svgEl("text", { class: "building-label", "data-x": b.x, "data-y": -(b.y + b.depth / 2) }, buildingLabel(b));
    layers.labels.append(label);
  }
  drawTags();
  drawGrids();
  for (const d of plan.devices.values()) layers.devices.append(marker(d));
  drawFlatAlarms();
  box.replaceChildren(toolbar(), svg, legend());
  attachZoom(svg);
  for (const d of plan.devices.values()) paint(d);
  setView(plan.view);
}

function buildingLabel(b) {
  const generic = !b.name || /^building\s+\S+$/i.test(b.name);
  return generic ? buildingName(b.id) : b.name;
}

function gridLabel(g) {
  const m = /^grid\s+(\S+)$/i.exec(g.name ?? "");
  return m ? t("plan.grid").replace("{id}", m[1]) : g.name ?? g.id;
}

function drawTags() {
  const layer = plan.layers.flats;
  layer.replaceChildren();
  layer.setAttribute("display", plan.overlays.tags ? "inline" : "none");
  for (const f of plan.flats.values()) {
    const tags = f.tags.filter((tag) => !plan.hiddenTags.has(tag));
    if (!tags.length) continue;
    // A household with several tags: its cell split into one stripe per tag.
    const w = f.width / tags.length;
    tags.forEach((tag, i) => {
      layer.append(
        svgEl("rect", {
          class: `flat-tag tag-${tag}`,
          x: f.x - f.width / 2 + i * w,
          y: -(f.y + f.depth / 2),
          width: w,
          height: f.depth,
          "data-flat": f.address,
          "data-tag": tag,
        }),
      );
    });
  }
}

function drawGrids() {
  const layer = plan.layers.grids;
  layer.replaceChildren();
  layer.setAttribute("display", plan.overlays.grids ? "inline" : "none");
  for (const g of plan.data.grids) {
    layer.append(
      svgEl("rect", { class: "grid-box", x: g.x0, y: -g.y1, width: g.x1 - g.x0, height: g.y1 - g.y0, "data-grid": g.id }),
      svgEl("text", { class: "grid-label", "data-x": g.x0 + 1, "data-y": -g.y0 }, gridLabel(g)),
    );
  }
}

function drawFlatAlarms() {
  for (const old of plan.layers.alarming.querySelectorAll(".flat-alarm")) old.remove();
  for (const f of plan.flats.values()) {
    if (!f.alarms.length) continue;
    const ring = svgEl("rect", {
      class: "flat-alarm",
      x: f.x - f.width / 2,
      y: -(f.y + f.depth / 2),
      width: f.width,
      height: f.depth,
      "data-flat": f.address,
    });
    ring.append(svgEl("title", {}, `${f.address} · ${t("plan.state.alarming")}`));
    ring.addEventListener("click", () => {
      if (f.cases.length) plan.onCase?.(f.cases[0]);
    });
    plan.layers.alarming.prepend(ring);
  }
}

function marker(d) {
  const m = svgEl(d.kind === "elder" || d.kind === "light" ? "circle" : "rect", { "data-device": d.id, "data-kind": d.kind });
  m.append(svgEl("title", {}, deviceTitle(d)));
  m.addEventListener("click", (event) => {
    if (plan.dragged) return;
    event.stopPropagation();
    plan.onDevice?.(d.id);
  });
  d.el = m;
  return m;
}

function deviceTitle(d) {
  return `${d.name ?? d.id} · ${t(`kind.${d.kind}`)} · ${t(`plan.state.${d.state}`)}${d.flat ? ` · ${d.flat}` : ""}`;
}

// A device's colour and layer follow its state; an alarming one goes last, on top.
function paint(d) {
  const m = d.el;
  if (!m) return;
  const severity = d.state === "alarming" ? ` sev-${d.alarm_severity ?? "critical"}` : "";
  m.setAttribute("class", `device ${d.kind} ${d.state}${severity}`);
  m.dataset.state = d.state;
  m.firstChild.textContent = deviceTitle(d);
  const layer = d.state === "alarming" ? plan.layers.alarming : plan.layers.devices;
  if (m.parentNode !== layer || (d.state === "alarming" && layer.lastChild !== m)) layer.append(m);
  size(m, d);
}

// --- zoom, pan and clusters -------------------------------------------------------------------

function scale() {
  const r = plan.svg.getBoundingClientRect();
  if (!r.width || !r.height) return 1;
  return Math.min(r.width / plan.view.w, r.height / plan.view.h); // px per metre
}

function setView(view) {
  const maxW = plan.home.w / ZOOM_MAX;
  const w = Math.min(Math.max(view.w, maxW), plan.home.w * 1.5);
  const h = (w * plan.home.h) / plan.home.w;
  const cx = view.x + view.w / 2;
  const cy = view.y + view.h / 2;
  plan.view = { x: cx - w / 2, y: cy - h / 2, w, h };
  plan.svg.setAttribute("viewBox", `${plan.view.x} ${plan.view.y} ${plan.view.w} ${plan.view.h}`);
  schedule();
}

function zoom(factor, cx, cy) {
  const v = plan.view;
  const x = cx ?? v.x + v.w / 2;
  const y = cy ?? v.y + v.h / 2;
  const w = v.w / factor;
  const h = v.h / factor;
  setView({ x: x - ((x - v.x) / v.w) * w, y: y - ((y - v.y) / v.h) * h, w, h });
}

function toSvg(event) {
  const p = plan.svg.createSVGPoint();
  p.x = event.clientX;
  p.y = event.clientY;
  return p.matrixTransform(plan.svg.getScreenCTM().inverse());
}

function attachZoom(svg) {
  svg.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      const p = toSvg(event);
      zoom(Math.pow(ZOOM_STEP, -Math.sign(event.deltaY) / 3), p.x, p.y);
    },
    { passive: false },
  );
  let start = null;
  svg.addEventListener("pointerdown", (event) => {
    start = { x: event.clientX, y: event.clientY, view: { ...plan.view }, k: scale() };
    plan.dragged = false;
  });
  svg.addEventListener("pointermove", (event) => {
    if (!start || !(event.buttons & 1)) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    if (!plan.dragged && Math.hypot(dx, dy) < DRAG_PX) return;
    if (!plan.dragged) svg.setPointerCapture(event.pointerId);
    plan.dragged = true;
    setView({ ...start.view, x: start.view.x - dx / start.k, y: start.view.y - dy / start.k });
  });
  svg.addEventListener("pointerup", () => {
    start = null;
    setTimeout(() => (plan.dragged = false), 0);
  });
  new ResizeObserver(() => schedule()).observe(svg);
}

function schedule() {
  if (plan.frame || !plan.svg) return;
  plan.frame = requestAnimationFrame(() => {
    plan.frame = 0;
    layout();
  });
}

function size(m, d) {
  const k = scale();
  const r = (d.state === "alarming" ? ALARM_PX : MARKER_PX) / k;
  if (m.tagName === "circle") {
    m.setAttribute("cx", d.x);
    m.setAttribute("cy", -d.y);
    m.setAttribute("r", d.kind === "light" && d.state !== "alarming" ? r * 0.8 : r);
  } else {
    m.setAttribute("x", d.x - r);
    m.setAttribute("y", -d.y - r);
    m.setAttribute("width", 2 * r);
    m.setAttribute("height", 2 * r);
  }
  m.setAttribute("stroke-width", 1 / k);
}

// Every device drawn: on its own where it has room on screen, else in a cluster with its
// neighbours (a circle with their count, coloured by the worst state among them).
function layout() {
  const k = scale();
  const groups = [];
  const reach = CLUSTER_PX / k; // in metres at this zoom
  for (const d of plan.devices.values()) {
    size(d.el, d);
    if (d.state === "alarming") {
      d.el.removeAttribute("display");
      continue;
    }
    // Greedy: a device joins the first group whose first member is within reach.
    const home = groups.find((g) => Math.abs(g.x - d.x) < reach && Math.abs(g.y - d.y) < reach);
    if (home) home.members.push(d);
    else groups.push({ x: d.x, y: d.y, members: [d] });
  }
  const clusters = plan.layers.clusters;
  clusters.replaceChildren();
  for (const { members } of groups) {
    if (members.length === 1) {
      members[0].el.removeAttribute("display");
      continue;
    }
    for (const d of members) d.el.setAttribute("display", "none");
    clusters.append(cluster(members, k));
  }
  for (const text of plan.layers.labels.children) label(text, k, 0);
  for (const text of plan.layers.grids.querySelectorAll("text")) label(text, k, 0);
  for (const ring of plan.layers.alarming.querySelectorAll(".flat-alarm")) ring.setAttribute("stroke-width", 3 / k);
  for (const box of plan.layers.grids.querySelectorAll("rect")) {
    box.setAttribute("stroke-width", 2 / k);
    box.setAttribute("stroke-dasharray", `${6 / k} ${4 / k}`);
  }
  for (const b of plan.layers.buildings.children) b.setAttribute("stroke-width", 1 / k);
}

function label(text, k, below) {
  const px = LABEL_PX * rootScale();
  text.setAttribute("font-size", px / k);
  text.setAttribute("stroke-width", 3 / k);
  text.setAttribute("x", Number(text.dataset.x));
  // Building labels sit just north of the footprint, grid labels inside their box's
  // south-west corner (clear of the building labels).
  text.setAttribute("y", Number(text.dataset.y) + (below ? px * 1.1 : -px * 0.35) / k);
}

function rootScale() {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) / 15;
}

function cluster(members, k) {
  const x = members.reduce((s, d) => s + d.x, 0) / members.length;
  const y = members.reduce((s, d) => s + d.y, 0) / members.length;
  const worst = WORST.find((s) => members.some((d) => d.state === s)) ?? "ok";
  const r = (MARKER_PX + 2 + Math.min(6, Math.log2(members.length) * 1.5)) / k;
  const g = svgEl("g", { class: `cluster ${worst}`, "data-count": members.length });
  g.append(
    svgEl("circle", { cx: x, cy: -y, r, "stroke-width": 1 / k }),
    svgEl("text", { x, y: -y + 3.5 / k, "font-size": 10 / k }, String(members.length)),
    svgEl("title", {}, `${members.length} · ${t("plan.zoom_in")}`),
  );
  g.addEventListener("click", (event) => {
    if (plan.dragged) return;
    event.stopPropagation();
    zoom(ZOOM_STEP * ZOOM_STEP, x, -y);
  });
  return g;
}

// --- the toolbar and the legend ----------------------------------------------------------------

function toolbar() {
  const button = (text, title, action) => {
    const b = node("button", { type: "button", textContent: text, title: t(title) });
    b.setAttribute("aria-label", t(title));
    b.dataset.zoom = title;
    b.addEventListener("click", action);
    return b;
  };
  const toggle = (name) => {
    const input = node("input", { type: "checkbox", checked: plan.overlays[name] });
    input.dataset.overlay = name;
    input.addEventListener("change", () => {
      plan.overlays[name] = input.checked;
      if (name === "tags") drawTags();
      else drawGrids();
      document.querySelector("#plan-svg .legend-tags").hidden = !plan.overlays.tags;
      schedule();
    });
    return node("label", { className: "overlay" }, [input, ` ${t(`plan.overlay.${name}`)}`]);
  };
  const items = [
    button("+", "plan.zoom_in", () => zoom(ZOOM_STEP)),
    button("−", "plan.zoom_out", () => zoom(1 / ZOOM_STEP)),
    button(t("plan.fit"), "plan.fit", () => setView(plan.home)),
    toggle("tags"),
    toggle("grids"),
  ];
  if (plan.compounds.length > 1) {
    const select = node(
      "select",
      {},
      plan.compounds.map((c) => node("option", { value: c, textContent: c, selected: c === plan.compound })),
    );
    select.addEventListener("change", () => show(select.value));
    items.unshift(select);
  }
  const count = node("span", { className: "plan-count", textContent: t("plan.count").replace("{n}", plan.devices.size) });
  return node("div", { className: "plan-tools" }, [...items, count]);
}

function legend() {
  const swatch = (cls) => node("i", { className: `swatch ${cls}` });
  const states = STATES.map((s) => node("span", {}, [swatch(`state-${s}`), t(`plan.state.${s}`)]));
  const kinds = [
    node("span", {}, [swatch("shape-round"), `${t("kind.elder")} / ${t("kind.light")}`]),
    node("span", {}, [swatch("shape-square"), `${t("kind.gate")} / ${t("kind.barrier")}`]),
    node("span", {}, [swatch("shape-cluster"), t("plan.cluster")]),
  ];
  const tags = TAGS.map((tag) => {
    const chip = node("button", { type: "button", className: `tag-chip${plan.hiddenTags.has(tag) ? " off" : ""}` }, [
      swatch(`tag-${tag}`),
      t(`tag.${tag}`),
    ]);
    chip.dataset.tag = tag;
    chip.addEventListener("click", () => {
      if (plan.hiddenTags.has(tag)) plan.hiddenTags.delete(tag);
      else plan.hiddenTags.add(tag);
      chip.classList.toggle("off");
      drawTags();
    });
    return chip;
  });
  const tagRow = node("div", { className: "legend legend-tags" }, tags);
  tagRow.hidden = !plan.overlays.tags;
  return node("div", { className: "plan-legend" }, [
    node("div", { className: "legend" }, [...states, ...kinds]),
    tagRow,
  ]);
}

// --- helpers ------------------------------------------------------------------------------------

function node(tag, props = {}, children = []) {
  const n = Object.assign(document.createElement(tag), props);
  n.append(...children);
  return n;
}

function svgEl(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}
