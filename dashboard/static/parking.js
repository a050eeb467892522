// The parking panel ("user pays", 享用者付费): for the chosen compound, the cars inside by
// the paired plate reads beside the barriers' own count, today's takings, the stays (open
// and recent, with their missed-read marks, duration and fee; open only, or by plate),
// the residents' registered cars per household and the visitors' passes, and the tariff.
// Everything drawn comes from /api/v1/parking; plates only reach the roles the API shows
// them to. Write buttons follow the API's permissions (api/_access.py): vehicles and
// visitors `manage_vehicles`, the tariff `set_tariffs`. No build step: a plain ES module.

import { addressName, fmtTime, onLanguageChange, t } from "./i18n.js";

const PLATE_READERS = new Set(["admin", "property_staff"]); // read_access_events
const VEHICLE_KEEPERS = new Set(["admin", "property_staff"]); // manage_vehicles
const TARIFF_SETTERS = new Set(["admin"]); // set_tariffs
const STAYS_PAGE = 50; // stays drawn at first; "more" asks for as many again
const STAYS_MAX = 500; // the API's largest page: an older stay is found by its plate
const REFRESH_MS = 30_000; // cars come and go, open stays' fees grow: re-read while shown
const VISIT_HOURS = 4; // a new visitor pass's default window, from now
const MISSED = new Set(["exit_missed", "entry_missed"]);
// The tariff's fields as the API names them; money is fen there, yuan on screen.
const TARIFF = [
  ["free_minutes", "minutes"],
  ["hourly_fen", "money"],
  ["daily_cap_fen", "money"],
  ["residents_exempt", "flag"],
  ["visitor_free_minutes", "minutes"],
  ["missed_read_fee_fen", "money"],
];

let ctx = null; // { api, toast, user } from app.js
const view = {
  compound: null,
  compounds: [],
  occupancy: null,
  fees: null,
  stays: [],
  staysCount: 0,
  limit: STAYS_PAGE,
  openOnly: false,
  plate: "",
  tariff: null,
  vehicles: [],
  visitors: [],
  form: null, // the form open: "vehicle", "visitor" or "tariff"
  removing: null, // the plate whose removal waits for its confirmation
};
const $ = (sel) => document.querySelector(sel);

export async function loadParking(context) {
  ctx = context;
  const toggle = $("#parking-toggle");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const on = document.body.classList.toggle("parking-view");
    toggle.classList.toggle("current", on);
    if (on) {
      // One desk view at a time: the care panel's gives way.
      document.body.classList.remove("care-view");
      $("#care-toggle")?.classList.remove("current");
      refresh().catch(failed);
    }
  });
  // The phone's tab: the panel as of now whenever it is opened.
  $("#tabs button[data-panel='parking']")?.addEventListener("click", () => refresh().catch(failed));
  $("#care-toggle")?.addEventListener("click", () => {
    document.body.classList.remove("parking-view");
    toggle.classList.remove("current");
  });
  view.compounds = (await ctx.api("/compounds")).data.map((c) => c.id);
  view.compound = view.compounds[0] ?? null;
  onLanguageChange(draw);
  await refresh();
  setInterval(() => {
    if (shown() && !view.form && !$("#parking-body").contains(document.activeElement)) refresh().catch(failed);
  }, REFRESH_MS);
}

function readsPlates() {
  return PLATE_READERS.has(ctx.user.role);
}

function keepsVehicles() {
  return VEHICLE_KEEPERS.has(ctx.user.role);
}

function setsTariff() {
  return TARIFF_SETTERS.has(ctx.user.role);
}

function shown() {
  return document.body.classList.contains("parking-view") || $("#parking").classList.contains("current");
}

function failed(err) {
  ctx.toast(`${t("failed")}: ${err.message}`);
}

// Today as the browser's clock has it: the takings since the local midnight.
function today() {
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  const end = new Date(start);
  end.setDate(end.getDate() + 1);
  return { from: start.toISOString(), to: end.toISOString() };
}

function staysQuery() {
  const q = new URLSearchParams({ compound: view.compound, limit: String(view.limit) });
  if (view.openOnly) q.set("open", "true");
  if (view.plate) q.set("plate", view.plate);
  return q.toString();
}

// Everything as of now; only the latest of overlapping reads is drawn, never over a form
// someone is filling in.
let asked = 0;
async function refresh() {
  if (!view.compound) return draw();
  const mine = ++asked;
  const c = new URLSearchParams({ compound: view.compound }).toString();
  const reads = [
    ctx.api(`/parking/occupancy?${c}`),
    ctx.api(`/parking/fees?${c}&${new URLSearchParams(today())}`),
    ctx.api(`/parking/stays?${staysQuery()}`),
    ctx.api(`/parking/tariff?${c}`),
  ];
  if (readsPlates()) reads.push(ctx.api(`/parking/vehicles?${c}`), ctx.api(`/parking/visitors?${c}`));
  const [occupancy, fees, stays, tariff, vehicles, visitors] = await Promise.all(reads);
  if (mine !== asked) return;
  Object.assign(view, { occupancy, fees, tariff, stays: stays.data, staysCount: stays.count });
  if (vehicles) [view.vehicles, view.visitors] = [vehicles.data, visitors.data];
  if (!view.form) draw();
}

// A write; on success the form closes and everything is read again, on a refusal the
// form stays as typed and shows the API's reason.
async function save(path, options, done, errorBox) {
  try {
    await ctx.api(path, options);
  } catch (err) {
    if (errorBox) errorBox.textContent = `${t("park.refused")}: ${reason(err)}`;
    else failed(err);
    return;
  }
  view.form = null;
  view.removing = null;
  ctx.toast(t(done));
  await refresh();
}

// The API's reason, its field names in the user's words: a validation error lists its
// fields ("hourly_fen: Input should be ..."), a package's refusal names one first.
function reason(err) {
  const detail = err.detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${fieldName(String((d.loc ?? []).at(-1) ?? ""))}: ${d.msg}`).join("; ");
  }
  const text = typeof detail === "string" ? detail : err.message;
  return text.replace(/^([a-z_]+): /, (m, field) => `${fieldName(field)}: `);
}

function fieldName(field) {
  const key = `park.field.${field}`;
  return t(key) === key ? field : t(key);
}

// --- drawing ----------------------------------------------------------------------------

function draw() {
  const body = $("#parking-body");
  if (!view.compound) return body.replaceChildren(el("p", { className: "park-empty", textContent: t("park.none") }));
  const typed = [...body.querySelectorAll(".park-form input")].map((i) => [i.id, i.value, i.checked]);
  const parts = [controls(), tiles(), staysSection()];
  if (readsPlates()) parts.push(vehiclesSection(), visitorsSection());
  parts.push(tariffSection());
  body.replaceChildren(...parts);
  // A form drawn again (another language) keeps what was typed in it.
  for (const [id, value, checked] of typed) {
    const again = document.getElementById(id);
    if (again) Object.assign(again, { value, checked });
  }
}

function controls() {
  if (view.compounds.length < 2) return el("div", { className: "park-controls" });
  const compound = select("park-compound", view.compounds.map((c) => [c, c]), view.compound, (value) => {
    Object.assign(view, { compound: value, plate: "", limit: STAYS_PAGE, form: null, removing: null });
    refresh().catch(failed);
  });
  return el("div", { className: "park-controls" }, [el("label", {}, [el("span", { textContent: t("park.compound") }), compound])]);
}

function tiles() {
  const o = view.occupancy ?? {};
  const f = view.fees ?? {};
  const barrier = o.barrier_occupancy == null ? "—" : o.barrier_capacity == null ? String(o.barrier_occupancy) : `${o.barrier_occupancy} / ${o.barrier_capacity}`;
  const gap = o.barrier_occupancy == null ? null : o.barrier_occupancy - o.open_stays;
  const tile = (name, value, label, note) =>
    el("div", { className: `tile${name === "gap" && gap ? " alert" : ""}`, dataset: { tile: name } }, [
      el("b", { textContent: value }),
      el("span", { textContent: label }),
      note ? el("small", { textContent: note }) : "",
    ]);
  return el("div", { id: "park-occupancy", className: "park-tiles" }, [
    tile("inside", String(o.open_stays ?? "—"), t("park.inside")),
    tile("barrier", barrier, t("park.barrier_count"), o.reported_at ? t("park.reported", { at: fmtTime(o.reported_at, { seconds: false }) }) : t("park.no_report")),
    tile("gap", gap == null ? "—" : String(gap), t("park.gap"), t("park.gap_why")),
    tile("takings", f.fee_fen == null ? "—" : yuan(f.fee_fen), t("park.takings_today"), f.stays == null ? "" : t("park.stays_ended", { n: f.stays })),
  ]);
}

function staysSection() {
  const openOnly = el("input", { type: "checkbox", id: "park-filter-open", checked: view.openOnly });
  openOnly.addEventListener("change", () => {
    Object.assign(view, { openOnly: openOnly.checked, limit: STAYS_PAGE });
    refresh().catch(failed);
  });
  const filters = [el("label", { className: "park-check" }, [openOnly, ` ${t("park.open_only")}`])];
  if (readsPlates()) {
    const plate = el("input", { id: "park-filter-plate", value: view.plate, maxLength: 32, placeholder: t("park.plate_part") });
    const find = el("form", { id: "park-filter", className: "park-filter" }, [
      plate,
      el("button", { type: "submit", textContent: t("park.find") }),
      view.plate ? button("park.all_plates", () => findPlate("")) : "",
    ]);
    find.addEventListener("submit", (event) => {
      event.preventDefault();
      findPlate(plate.value.trim());
    });
    filters.push(find);
  }
  const head = ["park.plate", "park.car", "park.status", "park.entered", "park.exited", "park.duration", "park.fee"];
  const rows = view.stays.map((s) => {
    const status = el("span", { className: `park-status ${s.status}`, textContent: t(`park.status.${s.status}`) });
    return el("tr", { className: `park-stay ${s.status}${MISSED.has(s.status) ? " missed" : ""}`, dataset: { stayId: String(s.id), status: s.status } }, [
      cell("park.plate", s.plate ?? t("park.plate_hidden"), s.plate ? "park-plate" : "park-muted"),
      cell("park.car", t(s.resident ? "park.resident" : s.visitor ? "park.visitor" : "park.stranger")),
      labelled("park.status", [status]),
      cell("park.entered", s.entered_at ? fmtTime(s.entered_at, { seconds: false }) : t("park.not_read")),
      cell("park.exited", s.exited_at ? fmtTime(s.exited_at, { seconds: false }) : s.status === "open" ? t("park.still_inside") : t("park.not_read")),
      cell("park.duration", s.minutes == null ? "—" : duration(s.minutes)),
      cell("park.fee", `${yuan(s.fee_fen)}${s.status === "open" ? ` ${t("park.if_leaving_now")}` : ""}`),
    ]);
  });
  const parts = [el("h3", { textContent: t("park.stays") }), el("div", { className: "park-filters" }, filters), table("park-stays", head, rows)];
  parts.push(el("p", { className: "park-count", id: "park-stays-count", textContent: t("park.shown_of", { n: view.stays.length, count: view.staysCount }) }));
  if (view.stays.length < view.staysCount && view.limit < STAYS_MAX) {
    parts.push(
      button("park.more", () => {
        view.limit = Math.min(view.limit + STAYS_PAGE, STAYS_MAX);
        refresh().catch(failed);
      }),
    );
  }
  return el("section", { className: "park-section" }, parts);
}

function findPlate(value) {
  Object.assign(view, { plate: value, limit: STAYS_PAGE });
  refresh().catch(failed);
}

function vehiclesSection() {
  const households = new Map(); // flat -> its plates (the API lists them by flat)
  for (const v of view.vehicles) households.set(v.flat, [...(households.get(v.flat) ?? []), v]);
  const rows = [...households].map(([flat, cars]) =>
    el("tr", { className: "park-household", dataset: { flat } }, [
      cell("park.household", addressName(flat)),
      labelled("park.plates", cars.map((v) => plateChip(v))),
    ]),
  );
  const parts = [el("h3", { textContent: t("park.vehicles") })];
  if (keepsVehicles()) parts.push(writeButton("park.register_vehicle", () => openForm("vehicle")));
  if (view.form === "vehicle") parts.push(vehicleForm());
  parts.push(table("park-vehicles", ["park.household", "park.plates"], rows));
  return el("section", { className: "park-section" }, parts);
}

function plateChip(v) {
  const chip = el("span", { className: "park-chip", dataset: { plate: v.plate } }, [el("span", { className: "park-plate", textContent: v.plate })]);
  if (!keepsVehicles()) return chip;
  if (view.removing === v.plate) {
    chip.append(
      writeButton("park.remove_confirm", () => save(`/parking/vehicles/${enc(view.compound)}/${enc(v.plate)}`, { method: "DELETE" }, "park.vehicle_removed")),
      button("park.cancel", () => {
        view.removing = null;
        draw();
      }),
    );
  } else {
    chip.append(
      writeButton("park.remove", () => {
        view.removing = v.plate;
        draw();
      }),
    );
  }
  return chip;
}

function visitorsSection() {
  const head = ["park.plate", "park.visiting", "park.valid_from", "park.valid_to", "park.pass", "park.registered_by"];
  const rows = view.visitors.map((v) =>
    el("tr", { className: `park-visitor${v.current ? " current" : ""}`, dataset: { visitorId: String(v.id) } }, [
      cell("park.plate", v.plate, "park-plate"),
      cell("park.visiting", v.flat ? addressName(v.flat) : t("park.no_household")),
      cell("park.valid_from", fmtTime(v.valid_from, { seconds: false })),
      cell("park.valid_to", fmtTime(v.valid_to, { seconds: false })),
      cell("park.pass", t(v.current ? "park.pass_current" : "park.pass_later")),
      cell("park.registered_by", v.registered_by),
    ]),
  );
  const parts = [el("h3", { textContent: t("park.visitors") })];
  if (keepsVehicles()) parts.push(writeButton("park.register_visitor", () => openForm("visitor")));
  if (view.form === "visitor") parts.push(visitorForm());
  parts.push(table("park-visitors", head, rows));
  return el("section", { className: "park-section" }, parts);
}

function tariffSection() {
  const tariff = view.tariff ?? {};
  const shownValue = (field, kind) => {
    const v = tariff[field];
    if (v == null) return "—";
    if (kind === "money") return yuan(v);
    if (kind === "flag") return t(v ? "park.yes" : "park.no");
    return t("park.n_minutes", { n: v });
  };
  const list = el(
    "dl",
    { id: "park-tariff", className: "park-tariff" },
    TARIFF.flatMap(([field, kind]) => [el("dt", { textContent: t(`park.tariff.${field}`) }), el("dd", { textContent: shownValue(field, kind), dataset: { field } })]),
  );
  const parts = [el("h3", { textContent: t("park.tariff") })];
  if (setsTariff()) parts.push(writeButton("park.edit_tariff", () => openForm("tariff")));
  parts.push(view.form === "tariff" ? tariffForm() : list);
  return el("section", { className: "park-section" }, parts);
}

function openForm(name) {
  view.form = name;
  view.removing = null;
  draw();
}

// --- the forms --------------------------------------------------------------------------

function vehicleForm() {
  const flat = input("park-vehicle-flat", { required: true, placeholder: t("park.flat_hint") });
  const plate = input("park-vehicle-plate", { required: true, maxLength: 32 });
  const error = errorBox("park-vehicle-error");
  const box = form("park-vehicle-form", [field("park.household", flat), field("park.plate", plate)], error);
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { compound: view.compound, flat: flat.value.trim(), plate: plate.value.trim() };
    save("/parking/vehicles", { method: "POST", body }, "park.vehicle_saved", error);
  });
  return box;
}

function visitorForm() {
  const now = new Date();
  const plate = input("park-visitor-plate", { required: true, maxLength: 32 });
  const flat = input("park-visitor-flat", { placeholder: t("park.flat_optional") });
  const from = input("park-visitor-from", { type: "datetime-local", required: true, value: localInput(now) });
  const to = input("park-visitor-to", { type: "datetime-local", required: true, value: localInput(new Date(now.getTime() + VISIT_HOURS * 3600_000)) });
  const error = errorBox("park-visitor-error");
  const fields = [field("park.plate", plate), field("park.visiting", flat), field("park.valid_from", from), field("park.valid_to", to)];
  const box = form("park-visitor-form", fields, error);
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { compound: view.compound, plate: plate.value.trim(), valid_from: instant(from.value), valid_to: instant(to.value) };
    if (flat.value.trim()) body.flat = flat.value.trim();
    save("/parking/visitors", { method: "POST", body }, "park.visitor_saved", error);
  });
  return box;
}

// Money typed in yuan, sent in fen; the browser checks nothing (noValidate): what the
// API refuses, and why, is the API's to say.
function tariffForm() {
  const tariff = view.tariff ?? {};
  const inputs = new Map();
  const fields = TARIFF.map(([name, kind]) => {
    const id = `park-tariff-${name}`;
    const box =
      kind === "flag"
        ? input(id, { type: "checkbox", checked: Boolean(tariff[name]) })
        : input(id, { type: "number", step: kind === "money" ? "0.01" : "1", value: kind === "money" ? (tariff[name] / 100).toFixed(2) : String(tariff[name]) });
    inputs.set(name, [box, kind]);
    return field(`park.tariff.${name}`, box, kind === "flag" ? "park-check" : "");
  });
  const error = errorBox("park-tariff-error");
  const box = form("park-tariff-form", fields, error);
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {};
    for (const [name, [control, kind]] of inputs) {
      if (kind === "flag") body[name] = control.checked;
      else if (control.value === "") body[name] = null;
      else body[name] = kind === "money" ? Math.round(Number(control.value) * 100) : Number(control.value);
    }
    const q = new URLSearchParams({ compound: view.compound });
    save(`/parking/tariff?${q}`, { method: "PUT", body }, "park.tariff_saved", error);
  });
  return box;
}

function form(id, fields, error) {
  return el("form", { className: "park-form", id, noValidate: true }, [
    ...fields,
    el("button", { type: "submit", id: `${id.replace(/-form$/, "")}-save`, textContent: t("park.save") }),
    button("park.cancel", () => {
      view.form = null;
      draw();
    }),
    error,
  ]);
}

function field(label, control, className = "") {
  return el("label", { className: `park-field ${className}`.trim() }, [el("span", { textContent: t(label) }), control]);
}

function input(id, props) {
  return el("input", { id, ...props });
}

function errorBox(id) {
  return el("p", { className: "error park-error", id, role: "alert" });
}

// --- small helpers ----------------------------------------------------------------------

function yuan(fen) {
  return t("park.yuan", { v: (fen / 100).toFixed(2) });
}

function duration(minutes) {
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days) return t("park.days_hours", { d: days, h: hours });
  if (hours) return t("park.hours_minutes", { h: hours, m: mins });
  return t("park.n_minutes", { n: mins });
}

// A datetime-local input's value ("2026-12-08T09:30", the browser's time) and back.
function localInput(d) {
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

function instant(local) {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function table(id, head, rows) {
  if (!rows.length) return el("p", { className: "park-empty", id, textContent: t("park.none") });
  return el("table", { className: "park-table", id }, [
    el("thead", {}, [el("tr", {}, head.map((h) => el("th", { textContent: t(h) })))]),
    el("tbody", {}, rows),
  ]);
}

// A cell names its column (`data-label`): a phone draws each row as a card with them.
function cell(column, text, className = "") {
  return el("td", { textContent: text, className, dataset: { label: t(column) } });
}

function labelled(column, children) {
  return el("td", { dataset: { label: t(column) } }, children);
}

function select(id, options, value, onChange) {
  const s = el("select", { id }, options.map(([v, label]) => el("option", { value: v, textContent: label })));
  s.value = value;
  s.addEventListener("change", () => onChange(s.value));
  return s;
}

function button(key, onClick) {
  const b = el("button", { type: "button", textContent: t(key), dataset: { action: key } });
  b.addEventListener("click", onClick);
  return b;
}

// What changes the registry or the tariff: only drawn for the roles the API lets do it.
function writeButton(key, onClick) {
  const b = button(key, onClick);
  b.classList.add("park-write");
  return b;
}

function enc(s) {
  return encodeURIComponent(s);
}

function el(tag, props = {}, children = []) {
  const { dataset, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  if (dataset) Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}
