// The district view (辖区总览) for community and subdistrict staff: every compound the
// user sees on a map drawn from the registry's lat/lon (an SVG projection, no tiles, so
// it works offline), each marked by its open critical cases (size) and its worst SLA
// state (colour); beside it the compounds worst SLA first (overdue cases, then the
// nearest deadline); below, the KPIs by compound and by party from GET /kpis. One read,
// GET /district, draws the map and the list. A click on a compound opens its plan.
// On the wall (?wall=1) it is a rotating panel: the map and the worst list, large.
// Plain ES module, no build step; loaded when first shown, re-read while it is shown.

import { fmtTime, onLanguageChange, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const REFRESH_MS = 30_000; // deadlines pass without any event: re-read while shown
const KPI_ROWS = 15; // KPI rows per table, worst on-time rate first; the rest counted
const WALL_ROWS = 12; // compounds the wall's list shows: what a room reads from afar
const MAP_W = 1000; // the map's viewBox width; its height follows the district's shape
const MAP_PAD = 40; // room around the outermost compounds for their markers
const MIN_SPAN_DEG = 0.01; // a district of one compound (or a line of them) still has a box
// Marker radii in the map's units (the map is drawn ~600-1800 px wide for MAP_W units).
const R_QUIET = 12; // a compound with no open critical case
const R_BASE = 22; // one open critical case; more grow the marker by their square root
const R_STEP = 10;
const R_MAX = 56;
const MAP_LABELS = 8; // the worst compounds named on the map; the rest by hovering
const LABEL_PX = 22; // a name's font size in the map's units (style.css .district-label)
export const SLA_STATES = ["overdue", "due_soon", "on_time", "clear"]; // worst first

let ctx = null; // { api, toast, onCompound, wall } from app.js
const view = { data: null, byCompound: [], byParty: [], loaded: false, wanted: false, timer: null };
const $ = (sel) => document.querySelector(sel);

export function setupDistrict(context) {
  ctx = context;
  const toggle = $("#district-toggle");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const on = document.body.classList.toggle("district-view");
    toggle.classList.toggle("current", on);
    if (!on) return;
    document.body.classList.remove("care-view"); // one whole-desk view at a time
    $("#care-toggle")?.classList.remove("current");
    showDistrict();
  });
  $("#care-toggle")?.addEventListener("click", leaveDistrict);
  onLanguageChange(draw);
  if (view.wanted) showDistrict();
}

// The view is on screen (the desk's toggle, the phone's tab, the wall's rotation).
export function showDistrict() {
  view.wanted = true;
  if (!ctx) return; // the wall shows its first panel before the panels are set up
  refresh().catch((err) => ctx.toast(`${t("failed")}: ${err.message}`));
  clearInterval(view.timer);
  view.timer = setInterval(() => {
    if (!shown()) return clearInterval(view.timer);
    refresh().catch((err) => console.error("district view", err));
  }, REFRESH_MS);
}

// Back to the desk's other panels (a compound's plan was opened from here).
export function leaveDistrict() {
  document.body.classList.remove("district-view");
  $("#district-toggle")?.classList.remove("current");
}

function shown() {
  const panel = $("#district");
  return !!panel && panel.offsetParent !== null;
}

let asked = 0;
async function refresh() {
  const mine = ++asked;
  const [district, byCompound, byParty] = await Promise.all([
    ctx.api("/district"),
    ctx.wall ? null : ctx.api("/kpis?by=compound"),
    ctx.wall ? null : ctx.api("/kpis?by=party"),
  ]);
  if (mine !== asked) return; // only the latest of overlapping reads is drawn
  view.data = district;
  if (byCompound) view.byCompound = byCompound.data;
  if (byParty) view.byParty = byParty.data;
  view.loaded = true;
  draw();
}

// --- drawing ------------------------------------------------------------------------------

function draw() {
  const body = $("#district-body");
  if (!body || !view.loaded) return;
  const rows = view.data.data;
  if (!rows.length) return body.replaceChildren(el("p", { className: "district-empty", textContent: t("district.none") }));
  const parts = [tiles(rows), el("div", { className: "district-main" }, [map(rows), list(rows)])];
  if (!ctx.wall) parts.push(kpiTables());
  body.replaceChildren(...parts);
}

function tiles(rows) {
  const sum = (k) => rows.reduce((n, r) => n + r[k], 0);
  const due = sum("due");
  const rate = due ? pct(sum("closed_on_time") / due) : "—";
  const tile = (key, value, alert = false) =>
    el("div", { className: `tile${alert ? " alert" : ""}`, dataset: { kpi: key } }, [
      el("b", { textContent: String(value) }),
      el("span", { textContent: t(`district.kpi.${key}`) }),
    ]);
  return el("div", { className: "district-tiles" }, [
    tile("compounds", rows.length),
    tile("open", sum("open")),
    tile("critical", sum("critical"), sum("critical") > 0),
    tile("overdue", sum("overdue"), sum("overdue") > 0),
    tile("late_compounds", rows.filter((r) => r.sla === "overdue").length),
    tile("on_time_rate", rate),
  ]);
}

// An equirectangular projection around the district's middle latitude: over a district's
// few kilometres it is as good as any, and needs no map tiles.
function project(rows) {
  const lats = rows.map((r) => r.lat);
  const lons = rows.map((r) => r.lon);
  const mid = (Math.min(...lats) + Math.max(...lats)) / 2;
  const k = Math.cos((mid * Math.PI) / 180);
  const spanX = Math.max((Math.max(...lons) - Math.min(...lons)) * k, MIN_SPAN_DEG);
  const spanY = Math.max(Math.max(...lats) - Math.min(...lats), MIN_SPAN_DEG);
  const scale = (MAP_W - 2 * MAP_PAD) / Math.max(spanX, spanY);
  const w = spanX * scale + 2 * MAP_PAD;
  const h = spanY * scale + 2 * MAP_PAD;
  const x0 = (Math.min(...lons) + Math.max(...lons)) / 2;
  const y0 = (Math.min(...lats) + Math.max(...lats)) / 2;
  return { w, h, at: (r) => [w / 2 + (r.lon - x0) * k * scale, h / 2 - (r.lat - y0) * scale] };
}

function radius(r) {
  return r.critical ? Math.min(R_MAX, R_BASE + R_STEP * Math.sqrt(r.critical - 1)) : R_QUIET;
}

function map(rows) {
  const { w, h, at } = project(rows);
  const svg = svgEl("svg", { viewBox: `0 0 ${w.toFixed(1)} ${h.toFixed(1)}`, class: "district-svg", role: "img" });
  svg.append(svgEl("title", {}, t("district.map")));
  // The worst drawn last, so that no quiet compound covers it.
  const order = [...rows].sort((a, b) => SLA_STATES.indexOf(b.sla) - SLA_STATES.indexOf(a.sla) || a.critical - b.critical);
  const labels = svgEl("g", { class: "district-labels" });
  // A name is written only where it covers no other name (a rough box: CJK characters
  // are square, Latin ones about half as wide).
  const boxes = [];
  const placed = (x, y, r) => {
    const width = [...r.name].reduce((n, ch) => n + (ch > "\u2e80" ? LABEL_PX : LABEL_PX * 0.55), 0);
    const box = { x0: x - width - radius(r) - 5, x1: x + width + radius(r) + 5, y0: y - LABEL_PX, y1: y + LABEL_PX };
    if (boxes.some((b) => b.x0 < box.x1 && box.x0 < b.x1 && b.y0 < box.y1 && box.y0 < b.y1)) return false;
    boxes.push(box);
    return true;
  };
  const named = new Set(rows.filter((r) => r.sla !== "clear").slice(0, MAP_LABELS).map((r) => r.compound));
  for (const r of order) {
    const [x, y] = at(r);
    const g = svgEl("g", { class: `district-marker sla-${r.sla}`, "data-compound": r.compound, transform: `translate(${x.toFixed(1)} ${y.toFixed(1)})` });
    g.append(svgEl("title", {}, summary(r)));
    g.append(svgEl("circle", { r: radius(r).toFixed(1) }));
    if (r.critical) g.append(svgEl("text", { dy: "0.35em" }, String(r.critical)));
    if (named.has(r.compound) && placed(x, y, r)) {
      const left = x > w * 0.7; // named on the side with room, never cut at the edge
      const lx = x + (left ? -1 : 1) * (radius(r) + 5);
      labels.append(svgEl("text", { class: `district-label${left ? " left" : ""}`, x: lx.toFixed(1), y: y.toFixed(1), dy: "0.35em" }, r.name));
    }
    g.addEventListener("click", () => ctx.onCompound(r.compound));
    svg.append(g);
  }
  svg.append(labels); // over every marker: a name is never hidden under a neighbour
  return el("div", { className: "district-map" }, [svg, legend()]);
}

function legend() {
  const items = SLA_STATES.map((s) => el("span", {}, [el("i", { className: `swatch sla-${s}` }), t(`district.sla.${s}`)]));
  items.push(el("span", { className: "district-size" }, [t("district.size")]));
  return el("div", { className: "legend" }, items);
}

function summary(r) {
  return t("district.summary", { name: r.name, id: r.compound, open: r.open, critical: r.critical, overdue: r.overdue });
}

function list(rows) {
  const shownRows = ctx.wall ? rows.slice(0, WALL_ROWS) : rows;
  const head = ["compound", "sla", "overdue", "next_due", "open", "critical", "on_time_rate"].map((k) =>
    el("th", { textContent: t(`district.col.${k}`), className: `col-${k}` }),
  );
  const body = shownRows.map((r) => {
    const tr = el("tr", { className: `district-row sla-${r.sla}`, dataset: { compound: r.compound } }, [
      el("td", {}, [el("b", { textContent: r.name }), el("span", { className: "district-id", textContent: ` ${r.compound}` })]),
      el("td", {}, [el("span", { className: `district-sla sla-${r.sla}`, textContent: t(`district.sla.${r.sla}`) })]),
      el("td", { className: "num", textContent: String(r.overdue) }),
      el("td", { textContent: r.next_due ? fmtTime(r.next_due, { seconds: false }) : "—" }),
      el("td", { className: "num col-open", textContent: String(r.open) }),
      el("td", { className: "num col-critical", textContent: String(r.critical) }),
      el("td", { className: "num col-on_time_rate", textContent: r.on_time_rate == null ? "—" : pct(r.on_time_rate) }),
    ]);
    tr.addEventListener("click", () => ctx.onCompound(r.compound));
    return tr;
  });
  const parts = [el("h3", { textContent: t("district.worst") }), el("table", { className: "district-table" }, [el("thead", {}, [el("tr", {}, head)]), el("tbody", {}, body)])];
  if (shownRows.length < rows.length) parts.push(el("p", { className: "district-more", textContent: t("district.more", { n: rows.length - shownRows.length }) }));
  return el("div", { className: "district-list" }, parts);
}

// --- KPIs by compound and by party (GET /kpis, the last 30 days) --------------------------------

function kpiTables() {
  return el("div", { className: "district-kpis" }, [
    kpiTable("by_compound", view.byCompound, (key) => nameOf(key)),
    kpiTable("by_party", view.byParty, partyName),
  ]);
}

function kpiTable(name, rows, label) {
  // Worst on-time rate first; a group with nothing due yet last.
  const sorted = [...rows].sort((a, b) => (a.on_time_rate ?? 2) - (b.on_time_rate ?? 2) || a.key.localeCompare(b.key));
  const head = ["key", "received", "closure_rate", "on_time_rate", "satisfied_rate"].map((k) => el("th", { textContent: t(`district.kpi_col.${k}`) }));
  const rate = (x) => (x == null ? "—" : pct(x));
  const body = sorted.slice(0, KPI_ROWS).map((k) =>
    el("tr", { dataset: { key: k.key } }, [
      el("td", { textContent: label(k.key) }),
      el("td", { className: "num", textContent: String(k.received) }),
      el("td", { className: "num", textContent: rate(k.closure_rate) }),
      el("td", { className: "num", textContent: rate(k.on_time_rate) }),
      el("td", { className: "num", textContent: rate(k.satisfied_rate) }),
    ]),
  );
  const parts = [el("h3", { textContent: t(`district.${name}`) })];
  if (!rows.length) parts.push(el("p", { className: "district-empty", textContent: t("district.no_kpis") }));
  else parts.push(el("table", { className: "district-table", id: `district-${name}` }, [el("thead", {}, [el("tr", {}, head)]), el("tbody", {}, body)]));
  if (sorted.length > KPI_ROWS) parts.push(el("p", { className: "district-more", textContent: t("district.more", { n: sorted.length - KPI_ROWS }) }));
  return el("section", { className: "district-kpi" }, parts);
}

function nameOf(compound) {
  const found = view.data?.data.find((r) => r.compound === compound);
  return found ? `${found.name} ${compound}` : compound;
}

// "c1/p-care" -> "<c1's name> c1 · p-care"; a grid team's "c1/grid_team:g2" -> "… · Grid team 2".
function partyName(key) {
  const [compound, party] = key.split(/\/(.*)/s);
  const team = /^grid_team:(.*)$/.exec(party ?? "");
  const who = team ? t("district.grid_team", { grid: team[1] }) : party;
  return `${nameOf(compound)} · ${who}`;
}

// --- helpers ------------------------------------------------------------------------------------

function pct(x) {
  return `${(100 * x).toFixed(1)}%`;
}

function el(tag, props = {}, children = []) {
  const { dataset, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  if (dataset) Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

function svgEl(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}
