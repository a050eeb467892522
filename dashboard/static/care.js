// The care panel (care programmes): per compound and grid, the visit plans with their
// next due time (overdue first), the follow-up visits scheduled from closed cases, the
// meal delivery schedules and the care KPIs. A coordinator records a visit or today's
// delivery from its row, and starts a plan for a tagged household. Viewers see the
// counts only (the API gives them nothing else). No build step: a plain ES module.

import { addressName, fmtTime, onLanguageChange, refusal, t } from "./i18n.js";

const WRITERS = new Set(["admin", "property_staff", "grid_worker", "care_responder"]);
const OUTCOMES = ["well", "needs_help", "not_home"];
const TAGS = ["empty_nest", "elderly", "disabled"];
const KPIS = [
  "plans_active",
  "visits_due",
  "visits_overdue",
  "on_time_rate",
  "follow_ups_open",
  "deliveries_done",
  "deliveries_missed",
  "deliveries_unrecorded",
];

// The tiles drawn as an alert when not zero: work someone has to do now.
const ALERTING = new Set(["visits_overdue", "deliveries_unrecorded"]);

let ctx = null; // { api, toast, user } from app.js
const view = { compound: null, grid: "", compounds: [], grids: [], plans: [], followUps: [], meals: [], kpis: null, form: null };
const $ = (sel) => document.querySelector(sel);

export async function loadCare(context) {
  ctx = context;
  const toggle = $("#care-toggle");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const on = document.body.classList.toggle("care-view");
    toggle.classList.toggle("current", on);
    if (on) refresh().catch((err) => ctx.toast(`${t("failed")}: ${refusal(err)}`)); // as of now
  });
  view.compounds = (await ctx.api("/compounds")).data.map((c) => c.id);
  view.compound = view.compounds[0] ?? null;
  onLanguageChange(draw);
  if (view.compound) await loadGrids();
  await refresh();
}

async function loadGrids() {
  view.grids = (await ctx.api(`/grids?compound=${enc(view.compound)}`)).data.map((g) => g.id);
}

function mayWork() {
  return WRITERS.has(ctx.user.role);
}

function query() {
  const q = new URLSearchParams({ compound: view.compound });
  if (view.grid) q.set("grid", view.grid);
  return q.toString();
}

// The lists as of now. Only the latest of overlapping reads is drawn, and never over a
// form someone is filling in (the form's row would be drawn anew and their words lost).
let asked = 0;
async function refresh() {
  if (!view.compound) return draw();
  const mine = ++asked;
  const q = query();
  const [kpis, plans, followUps, meals] = await Promise.all([
    ctx.api(`/care/kpis?${q}`),
    ...(mayWork() ? ["plans", "follow-ups", "meals"].map((p) => ctx.api(`/care/${p}?${q}`)) : []),
  ]);
  if (mine !== asked) return;
  view.kpis = kpis;
  if (plans) [view.plans, view.followUps, view.meals] = [plans.data, followUps.data, meals.data];
  if (!view.form) draw();
}

async function save(path, body, done) {
  try {
    await ctx.api(path, { method: "POST", body });
    view.form = null;
    ctx.toast(t(done));
  } catch (err) {
    ctx.toast(`${t("failed")}: ${refusal(err)}`);
    return;
  }
  await refresh();
}

// --- drawing ----------------------------------------------------------------------------

function draw() {
  const body = $("#care-body");
  if (!view.compound) return body.replaceChildren(el("p", { textContent: t("care.none") }));
  const parts = [controls(), tiles()];
  if (mayWork()) parts.push(plansSection(), followUpsSection(), mealsSection());
  body.replaceChildren(...parts);
}

function controls() {
  const grid = select(
    "care-grid",
    [["", t("care.grid_all")], ...view.grids.map((g) => [g, gridLabel(g)])],
    view.grid,
    (value) => {
      view.grid = value;
      refresh();
    },
  );
  const parts = [el("label", {}, [el("span", { textContent: t("care.grid") }), grid])];
  if (view.compounds.length > 1) {
    const compound = select("care-compound", view.compounds.map((c) => [c, c]), view.compound, async (value) => {
      view.compound = value;
      view.grid = "";
      await loadGrids();
      refresh();
    });
    parts.unshift(el("label", {}, [el("span", { textContent: t("care.compound") }), compound]));
  }
  return el("div", { className: "care-controls" }, parts);
}

function tiles() {
  const k = view.kpis ?? {};
  const value = (name) => {
    if (name === "on_time_rate") return k.on_time_rate == null ? "—" : `${Math.round(100 * k.on_time_rate)}%`;
    return String(k[name] ?? "—");
  };
  return el(
    "div",
    { id: "care-kpis", className: "care-tiles" },
    KPIS.map((name) =>
      el("div", { className: `tile${ALERTING.has(name) && k[name] ? " alert" : ""}`, dataset: { kpi: name } }, [
        el("b", { textContent: value(name) }),
        el("span", { textContent: t(`care.kpi.${name}`) }),
      ]),
    ),
  );
}

function plansSection() {
  const head = ["care.household", "care.tag", "care.visitor", "care.interval", "care.last_visit", "care.next_due", "care.status", ""];
  const rows = [];
  for (const p of view.plans) {
    const status = el("span", { className: `care-status ${p.status}`, textContent: t(`care.status.${p.status}`) });
    const record = button("care.record_visit", () => {
      view.form = { kind: "plan", id: p.id, visitor: p.visitor };
      draw();
    });
    rows.push(
      el("tr", { className: `care-plan ${p.status}`, dataset: { planId: String(p.id) } }, [
        cell(addressName(p.flat)),
        cell(t(`tag.${p.tag}`)),
        cell(p.visitor),
        cell(t("care.every_days", { n: p.interval_days })),
        cell(p.last_visit_at ? fmtTime(p.last_visit_at, { seconds: false }) : t("care.never")),
        cell(fmtTime(p.due_at, { seconds: false })),
        el("td", {}, [status]),
        el("td", {}, [
          record,
          button("care.end_plan", () => save(`/care/plans/${enc(p.compound)}/${p.id}/end`, undefined, "care.plan_ended")),
        ]),
      ]),
    );
    if (view.form?.kind === "plan" && view.form.id === p.id) rows.push(visitForm(head.length));
  }
  const add = button("care.new_plan", () => {
    view.form = { kind: "new_plan" };
    draw();
  });
  const parts = [el("h3", { textContent: t("care.plans") }), add];
  if (view.form?.kind === "new_plan") parts.push(planForm());
  parts.push(table("care-plans", head, rows));
  return el("section", { className: "care-section" }, parts);
}

function followUpsSection() {
  const head = ["care.household", "care.case", "care.due", "care.status", ""];
  const rows = [];
  for (const f of view.followUps) {
    const status = f.overdue ? "overdue" : "scheduled";
    rows.push(
      el("tr", { className: `care-follow-up ${status}`, dataset: { followUpId: String(f.id) } }, [
        cell(addressName(f.flat)),
        cell(`#${f.case_id}`),
        cell(fmtTime(f.due_at, { seconds: false })),
        el("td", {}, [el("span", { className: `care-status ${status}`, textContent: t(`care.status.${status}`) })]),
        el("td", {}, [
          button("care.record_visit", () => {
            view.form = { kind: "follow_up", id: f.id, visitor: ctx.user.staff_id ?? "" };
            draw();
          }),
        ]),
      ]),
    );
    if (view.form?.kind === "follow_up" && view.form.id === f.id) rows.push(visitForm(head.length));
  }
  return el("section", { className: "care-section" }, [el("h3", { textContent: t("care.follow_ups") }), table("care-follow-ups", head, rows)]);
}

function mealsSection() {
  const head = ["care.household", "care.meal", "care.days", "care.deliverer", "care.done_missed", "care.unrecorded", ""];
  const rows = view.meals.map((m) =>
    el("tr", { className: `care-meal${m.unrecorded.length ? " unrecorded" : ""}`, dataset: { scheduleId: String(m.id) } }, [
      cell(addressName(m.flat)),
      cell(t(`care.meal.${m.meal}`)),
      cell(m.weekdays.map((d) => t(`care.day.${d}`)).join(" ")),
      cell(m.deliverer),
      cell(`${m.done} / ${m.missed}`),
      el("td", { className: "care-unrecorded", textContent: m.unrecorded.map(dayText).join(", ") || "—" }),
      el("td", {}, [
        button("care.delivered_today", () => delivery(m, true)),
        button("care.missed_today", () => delivery(m, false)),
      ]),
    ]),
  );
  return el("section", { className: "care-section" }, [el("h3", { textContent: t("care.meals") }), table("care-meals", head, rows)]);
}

function delivery(schedule, done) {
  save("/care/deliveries", { compound: view.compound, schedule_id: schedule.id, done }, "care.delivery_saved");
}

function visitForm(span) {
  const form = view.form;
  const outcome = select("care-outcome", OUTCOMES.map((o) => [o, t(`care.outcome.${o}`)]), "well", () => {});
  const visitor = el("input", { id: "care-visitor", value: form.visitor ?? "", required: true });
  const note = el("textarea", { id: "care-note", rows: 2, maxLength: 2000 });
  const submit = (event) => {
    event.preventDefault();
    const body = { compound: view.compound, outcome: outcome.value, visitor: visitor.value.trim() || undefined };
    if (note.value.trim()) body.note = note.value.trim();
    body[form.kind === "plan" ? "plan_id" : "follow_up_id"] = form.id;
    save("/care/visits", body, "care.visit_saved");
  };
  const box = el("form", { className: "care-form", id: "care-visit-form" }, [
    el("label", {}, [el("span", { textContent: t("care.outcome") }), outcome]),
    el("label", {}, [el("span", { textContent: t("care.visitor") }), visitor]),
    el("label", {}, [el("span", { textContent: t("care.note") }), note]),
    el("button", { type: "submit", id: "care-visit-save", textContent: t("care.save") }),
    cancel(),
  ]);
  box.addEventListener("submit", submit);
  return el("tr", { className: "care-form-row" }, [el("td", { colSpan: span }, [box])]);
}

function planForm() {
  const flat = el("input", { id: "care-flat", required: true, placeholder: t("care.flat_hint") });
  const tag = select("care-tag", TAGS.map((x) => [x, t(`tag.${x}`)]), "empty_nest", () => {});
  const visitor = el("input", { id: "care-plan-visitor", required: true, value: ctx.user.staff_id ?? "" });
  const days = el("input", { id: "care-days", type: "number", min: 1, max: 365, value: 7, required: true });
  const box = el("form", { className: "care-form", id: "care-plan-form" }, [
    el("label", {}, [el("span", { textContent: t("care.flat") }), flat]),
    el("label", {}, [el("span", { textContent: t("care.tag") }), tag]),
    el("label", {}, [el("span", { textContent: t("care.visitor") }), visitor]),
    el("label", {}, [el("span", { textContent: t("care.interval_days") }), days]),
    el("button", { type: "submit", textContent: t("care.save") }),
    cancel(),
  ]);
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {
      compound: view.compound,
      flat: flat.value.trim(),
      tag: tag.value,
      visitor: visitor.value.trim(),
      interval_days: Number(days.value),
    };
    save("/care/plans", body, "care.plan_saved");
  });
  return box;
}

// --- small helpers ----------------------------------------------------------------------

function table(id, head, rows) {
  if (!rows.length) return el("p", { className: "care-empty", id, textContent: t("care.none") });
  return el("table", { className: "care-table", id }, [
    el("thead", {}, [el("tr", {}, head.map((h) => el("th", { textContent: h ? t(h) : "" })))]),
    el("tbody", {}, rows),
  ]);
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

function cancel() {
  return button("care.cancel", () => {
    view.form = null;
    draw();
  });
}

// A compound's date ("2026-12-01", already the compound's day): "12月1日" / "1 Dec",
// read from its parts so that the browser's time zone cannot move it.
function dayText(iso) {
  const [, m, d] = iso.split("-").map(Number);
  return t("care.day_date", { m, d, mon: t(`month.${m}`) });
}

function cell(text) {
  return el("td", { textContent: text });
}

// "C001-grid2" or "g2" -> "Grid 2" / "网格2" (as the KPI charts name them).
function gridLabel(id) {
  const m = /g(?:rid)?[-_]?(\d+)$/i.exec(id);
  return m ? t("plan.grid", { id: m[1] }) : id;
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
