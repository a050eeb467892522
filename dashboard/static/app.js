// The monitoring-room dashboard: login, the live alarm feed (SSE over fetch, since the
// stream needs the bearer header), the case board, the compound plan (plan.js) and the
// KPIs (charts.js); the case pane's handling forms and the phone-call intake are forms.js's.
// Plain ES module, no build step; Chart.js is the vendored global `Chart`.

import { loadCare } from "./care.js";
import { loadDesk } from "./desk.js";
import { leaveDistrict, setupDistrict, showDistrict } from "./district.js";
import { barsByKey, rateBars, resizeCharts, telemetryCharts } from "./charts.js";
import {
  actorName,
  addressName,
  categoryName,
  deviceName,
  fmtHour,
  fmtTime,
  getLang,
  isRule,
  kindName,
  metricName,
  onLanguageChange,
  refusal,
  roleName,
  ruleTitle,
  setLang,
  setRuleTitles,
  t,
  transitionName,
} from "./i18n.js";
import { caseForms, intakeForm } from "./forms.js";
import { loadParking } from "./parking.js";
import { deviceLinks, loadPlan, planAlarm, planCases, redrawPlan, showPlanOf } from "./plan.js";
import { residentReport } from "./resident-report.js";

const API = "/api/v1";
const FEED_MAX = 100; // alarms kept in the feed; older ones fall off the bottom
const BOARD_REFRESH_MS = 30_000; // deadlines turn overdue without any event, so re-draw
const WALL_ROTATE_MS = 20_000; // how long the wall shows each rotating panel
const ACK_FIND_TRIES = 10; // the case may commit a moment after its alarm reaches the feed
const AWAITING_ACK = ["new", "dispatched", "reopened"]; // the states "acknowledge" leaves
const DONE_ON_BOARD = 50; // resolved and closed cases the board shows, newest first
const ALARM_CASE_SLACK_MS = 1000; // a case opened for an alarm is stamped after it, clocks apart
const URGENT_RULES = new Set(["sos", "fall"]);
const BOARD_STATES = [
  ["dispatched", ["new", "dispatched", "reopened"]],
  ["acknowledged", ["acknowledged"]],
  ["in_progress", ["in_progress"]],
  ["resolved", ["resolved"]],
  ["closed", ["closed", "cancelled", "merged"]],
];
// One click, or one with a note; the rest of the case's transitions are forms.js's forms.
const ACTIONS = ["acknowledge", "start", "resolve", "close", "reopen", "note"];
const ENDED = ["cancelled", "merged"]; // shown in the board's last column with the closed
// What each role sees; the API filters the data itself (grids, elderly-care devices).
const PANELS = {
  admin: ["feed", "board", "plan", "kpis", "care", "desk", "district"],
  property_staff: ["feed", "board", "plan", "kpis", "care", "desk", "district"],
  grid_worker: ["feed", "board", "plan", "kpis", "care", "desk", "district"],
  care_responder: ["feed", "board", "plan", "care", "desk"],
  viewer: ["feed", "board", "plan", "kpis", "care", "desk", "district"], // care: counts only; desk: reading
  supervisor: ["feed", "board", "plan", "kpis", "desk", "district"], // an upper rung: its compounds' cases
};
// Parking for every role: occupancy, stays and the tariff are everyone's to read; the
// plates, cars and passes only reach the roles the API shows them to (parking.js).
for (const shown of Object.values(PANELS)) shown.push("parking");
// Cases the care programmes' sweep opens: named by their category and household.
const CARE_CATEGORIES = new Set(["care_visit_overdue", "meal_missed"]);
const WORKERS = new Set(["admin", "property_staff", "grid_worker", "care_responder", "supervisor"]);

const state = {
  token: sessionStorage.getItem("dayuan.token"),
  user: null,
  cases: [],
  feed: new Map(), // alarm id -> feed item, kept to re-draw the feed in another language
  streamAbort: null,
  beeps: 0,
};
const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
const wall = params.get("wall") === "1";

// --- the API ---------------------------------------------------------------------------

// `code` and `params`: the refusal's machine code beside its sentence (cases', care's),
// for refusal() in i18n.js to say it in the reader's language.
class ApiError extends Error {
  constructor(status, detail, code = null, params = null) {
    super(detailText(detail));
    this.status = status;
    this.detail = detail; // as the API sent it: a validation error's list of fields
    this.code = code;
    this.params = params;
  }
}

// A request the API's validation refused lists what is wrong: "field: reason" each.
function detailText(detail) {
  if (!Array.isArray(detail)) return detail;
  return detail.map((d) => `${(d.loc ?? []).filter((p) => p !== "body").join(".")}: ${d.msg}`).join("; ");
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    logout();
    throw new ApiError(401, "logged out");
  }
  const data = response.headers.get("content-type")?.includes("json")
    ? await response.json()
    : null;
  if (!response.ok) {
    throw new ApiError(response.status, data?.detail ?? response.statusText, data?.code, data?.params);
  }
  return data;
}

// --- login and role --------------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  unlockAudio(); // a user gesture: browsers let audio start only after one
  const form = new URLSearchParams({ username: $("#username").value, password: $("#password").value });
  const response = await fetch(`${API}/auth/token`, { method: "POST", body: form });
  if (!response.ok) {
    $("#login-error").textContent = t("login_failed");
    return;
  }
  state.token = (await response.json()).access_token;
  sessionStorage.setItem("dayuan.token", state.token);
  await start();
}

function logout() {
  state.streamAbort?.abort();
  sessionStorage.removeItem("dayuan.token");
  state.token = null;
  location.reload();
}

async function start() {
  state.user = await api("/users/me");
  const role = state.user.role;
  document.body.dataset.role = role;
  const who = () => {
    $("#who").textContent = `${state.user.username} · ${roleName(role)}${WORKERS.has(role) ? "" : ` (${t("read_only")})`}`;
  };
  who();
  onLanguageChange(who);
  $("#login").hidden = true;
  $("#main").hidden = false;
  $("#logout").hidden = false;
  $("#live").hidden = false; // no connection pill before there is a stream to show
  const panels = PANELS[role] ?? ["feed"];
  for (const el of document.querySelectorAll("[data-panel]")) {
    el.hidden = !panels.includes(el.dataset.panel);
  }
  setupRotation(panels);
  // Alarm and case titles in the user's language; without them (a rule file the API cannot
  // read: 503) the titles the alarms stored show, and the room still works.
  await api("/rules")
    .then((page) => setRuleTitles(page.data))
    .catch((err) => console.error("rule titles unavailable", err));
  await Promise.all([
    loadOpenAlarms(),
    refreshBoard(),
    loadPlan({ api, onDevice: openDevice, onCase: openCase }).then(() => planCases(state.cases)),
  ]);
  if (panels.includes("kpis")) loadKpis();
  $("#intake-open").hidden = !mayWork();
  if (panels.includes("care")) {
    loadCare({ api, toast, user: state.user }).catch((err) => console.error("care panel", err));
  }
  desksOneAtATime();
  if (panels.includes("parking")) {
    loadParking({ api, toast, user: state.user }).catch((err) => console.error("parking panel", err));
  }
  if (panels.includes("desk")) {
    loadDesk({ api, toast, user: state.user, openCase }).catch((err) => console.error("deliberation desk", err));
  }
  if (panels.includes("district")) setupDistrict({ api, toast, wall, onCompound: openCompoundPlan });
  registerRedraws(panels);
  stream();
  setInterval(refreshBoard, BOARD_REFRESH_MS);
}

// The desk-wide views (care, parking, the deliberation desk, the district): opening one ends the others.
const DESK_VIEWS = ["care", "parking", "desk", "district"];
function desksOneAtATime() {
  for (const view of DESK_VIEWS) {
    $(`#${view}-toggle`)?.addEventListener("click", () => {
      for (const other of DESK_VIEWS.filter((v) => v !== view)) {
        document.body.classList.remove(`${other}-view`);
        $(`#${other}-toggle`)?.classList.remove("current");
      }
    });
  }
}

// What a language switch re-draws: every panel on screen, the open pane and the charts.
function registerRedraws(panels) {
  onLanguageChange(redrawFeed);
  onLanguageChange(drawBoard);
  onLanguageChange(redrawPlan);
  onLanguageChange(() => {
    if (panels.includes("kpis")) loadKpis().then(drawOpenCharts);
  });
  onLanguageChange(() => {
    const pane = $("#pane");
    if (pane.hidden) return;
    if (pane.dataset.caseId) openCase(pane.dataset.caseId);
    else if (pane.dataset.device) openDevice(pane.dataset.device);
    else if (pane.dataset.intake) openIntake();
  });
}

function mayWork() {
  return WORKERS.has(state.user?.role);
}

// The district view's drill-down: the desk's panels back, with that compound's plan.
async function openCompoundPlan(compound) {
  leaveDistrict();
  choosePanel("plan");
  await showPlanOf(compound);
  planCases(state.cases);
}

// --- the live feed ---------------------------------------------------------------------

async function stream() {
  let lastId = null;
  let retryMs = 3000;
  for (;;) {
    state.streamAbort = new AbortController();
    try {
      const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const response = await fetch(`${API}/stream`, { headers, signal: state.streamAbort.signal });
      if (response.status === 401) return logout();
      if (!response.ok) throw new Error(`stream ${response.status}`);
      setLive(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = parseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (frame.retry) retryMs = frame.retry;
          if (frame.id) lastId = frame.id;
          if (frame.event) onEvent(frame.event, frame.data);
        }
      }
    } catch (err) {
      if (err.name === "AbortError") return;
    }
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

function parseFrame(text) {
  const frame = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, "");
    if (name === "data") frame.data = frame.data ? `${frame.data}\n${value}` : value;
    else if (name === "retry") frame.retry = Number(value);
    else frame[name] = value;
  }
  if (frame.data) frame.data = JSON.parse(frame.data);
  return frame;
}

function setLive(on) {
  const el = $("#live");
  el.classList.toggle("off", !on);
  el.dataset.i18n = on ? "connected" : "disconnected";
  el.textContent = t(el.dataset.i18n);
}

function onEvent(name, data) {
  if (name === "alarm") onAlarm(data);
  else if (name === "case") scheduleBoardRefresh();
}

function onAlarm(a) {
  const item = {
    id: a.alarm_id,
    rule_id: a.rule_id,
    title: a.title,
    severity: a.severity,
    compound: a.compound,
    device_id: a.device_id,
    flat: a.flat,
    count: a.count,
    at: a.at,
    cleared: a.change === "cleared",
  };
  planAlarm(a);
  const fresh = a.change === "opened";
  showAlarm(item, fresh);
  if (fresh && isUrgent(item)) beep();
}

function isUrgent(alarm) {
  return alarm.severity === "critical" || URGENT_RULES.has(alarm.rule_id);
}

async function loadOpenAlarms() {
  const page = await api("/alarms?state=open&limit=50");
  for (const a of page.data.reverse()) {
    showAlarm({ ...a, at: a.last_seen, cleared: false }, false);
  }
}

function redrawFeed() {
  for (const li of [...$("#alarms").children].reverse()) {
    const alarm = state.feed.get(li.dataset.alarmId);
    if (alarm) showAlarm(alarm, li.classList.contains("new"));
  }
}

function showAlarm(alarm, fresh) {
  const list = $("#alarms");
  state.feed.set(String(alarm.id), alarm);
  let li = list.querySelector(`[data-alarm-id="${alarm.id}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.alarmId = alarm.id;
    list.prepend(li);
    while (list.children.length > FEED_MAX) {
      state.feed.delete(list.lastElementChild.dataset.alarmId);
      list.lastElementChild.remove();
    }
  }
  li.className = `alarm ${alarm.severity}${alarm.cleared ? " cleared" : ""}${fresh ? " new" : ""}`;
  li.dataset.rule = alarm.rule_id;
  li.dataset.device = alarm.device_id ?? "";
  li.dataset.at = alarm.at;
  const where = [alarm.compound, alarm.flat ? addressName(alarm.flat) : alarm.device_id].filter(Boolean).join(" · ");
  li.replaceChildren(
    el("div", {}, [
      el("span", { className: `sev ${alarm.severity}`, textContent: t(`sev.${alarm.severity}`) }),
      el("b", { textContent: ruleTitle(alarm.rule_id, alarm.title) }),
      alarm.count > 1 ? el("span", { textContent: ` ×${alarm.count}` }) : "",
    ]),
    el("div", {
      className: "meta",
      textContent: `${where} · ${fmtTime(alarm.at)}${alarm.cleared ? ` · ${t("cleared")}` : ""}`,
    }),
  );
  if (!alarm.cleared && mayWork() && alarm.device_id && awaitsAck(alarm.device_id, alarm.at)) {
    const button = el("button", { className: "ack", textContent: t("acknowledge") });
    button.dataset.i18n = "acknowledge";
    button.addEventListener("click", () => ackFromFeed(alarm, button));
    li.append(button);
  }
}

// Whether a feed item's alarm (of `device`, raised `at`) may still have a case to
// acknowledge: the device has one awaiting it, or the board knows no case opened for the
// alarm yet (it may commit a moment after the alarm; an older case is another matter).
function awaitsAck(device, at) {
  const known = state.cases.filter((c) => c.device_id === device);
  if (known.some((c) => AWAITING_ACK.includes(c.state))) return true;
  const since = Date.parse(at) - ALARM_CASE_SLACK_MS;
  return !known.some((c) => Date.parse(c.opened_at) >= since);
}

// The board moved on (a case acknowledged elsewhere, resolved, closed): the feed's
// buttons for devices with nothing left to acknowledge go.
function settleFeedButtons() {
  for (const button of document.querySelectorAll("#alarms .alarm button.ack:not(:disabled)")) {
    const item = button.closest(".alarm");
    if (item.dataset.device && !awaitsAck(item.dataset.device, item.dataset.at)) button.remove();
  }
}

async function ackFromFeed(alarm, button) {
  button.disabled = true;
  try {
    for (let i = 0; i < ACK_FIND_TRIES; i++) {
      const found = await caseOfAlarm(alarm);
      if (found && !AWAITING_ACK.includes(found.state)) {
        button.textContent = t("acked");
        return;
      }
      if (found) {
        try {
          await api(`/cases/${found.id}/acknowledge`, { method: "POST", body: { version: found.version } });
          button.textContent = t("acked");
          button.dataset.i18n = "acked";
          toast(`#${found.id} ${t("acked")}`);
          await refreshBoard();
          return;
        } catch (err) {
          if (err.status !== 409) throw err; // someone acted first: look again
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    toast(t("no_case"));
    button.disabled = false;
  } catch (err) {
    toast(`${t("failed")}: ${refusal(err)}`);
    button.disabled = false;
  }
}

async function caseOfAlarm(alarm) {
  const q = new URLSearchParams({ open: "true", compound: alarm.compound, limit: "100" });
  const page = await api(`/cases?${q}`);
  return page.data.find((c) => c.device_id === alarm.device_id) ?? null;
}

// --- the audible cue -------------------------------------------------------------------

let audio = null;

function unlockAudio() {
  try {
    audio ??= new AudioContext();
    audio.resume();
  } catch {
    audio = null; // no Web Audio: the flashing feed item still shows the alarm
  }
}

function beep() {
  state.beeps += 1;
  document.body.dataset.beeps = String(state.beeps);
  if (!audio) return;
  // Three short 880 Hz tones: urgent enough to turn a head, short enough to bear.
  const now = audio.currentTime;
  for (let i = 0; i < 3; i++) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, now + i * 0.3);
    gain.gain.exponentialRampToValueAtTime(0.3, now + i * 0.3 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.3 + 0.2);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + i * 0.3);
    osc.stop(now + i * 0.3 + 0.22);
  }
}

// --- the case board --------------------------------------------------------------------

let boardTimer = null;

function scheduleBoardRefresh() {
  clearTimeout(boardTimer);
  boardTimer = setTimeout(refreshBoard, 150);
}

async function refreshBoard() {
  // `open` leaves resolved cases out (they wait for the reporter's feedback and closing):
  // the board's resolved column asks for them on their own.
  const [open, resolved, done, ...ended] = await Promise.all([
    api("/cases?open=true&limit=200"),
    api(`/cases?state=resolved&limit=${DONE_ON_BOARD}`),
    api(`/cases?state=closed&limit=${DONE_ON_BOARD}`),
    ...ENDED.map((s) => api(`/cases?state=${s}&limit=${DONE_ON_BOARD}`)),
  ]);
  state.cases = [...open.data, ...resolved.data, ...done.data, ...ended.flatMap((p) => p.data)];
  drawBoard();
  settleFeedButtons();
  planCases(state.cases);
  drawOpenCharts();
  const paneCase = $("#pane").dataset.caseId;
  if (paneCase && !$("#pane").hidden) {
    const current = state.cases.find((c) => String(c.id) === paneCase);
    const stale = current && String(current.version) !== $("#pane").dataset.version;
    if (stale && $("#pane").dataset.loading !== paneCase) openCase(current.id);
  }
}

function drawBoard() {
  const columns = $("#columns");
  columns.replaceChildren();
  const now = Date.now();
  for (const [key, states] of BOARD_STATES) {
    const list = el("ol");
    const mine = state.cases.filter((c) => states.includes(c.state));
    for (const c of mine) list.append(caseCard(c, now));
    const column = el("div", { className: "column" }, [
      el("h3", { textContent: `${t(`state.${key}`)} (${mine.length})` }),
      list,
    ]);
    column.dataset.state = key;
    columns.append(column);
  }
}

function overdue(c, now) {
  const acked = c.acknowledged_at !== null;
  const resolved = c.resolved_at !== null || ["resolved", "closed", "cancelled", "merged"].includes(c.state);
  if (!acked && Date.parse(c.ack_due) < now) return "ack_due";
  if (!resolved && Date.parse(c.resolve_due) < now) return "resolve_due";
  return null;
}

function caseCard(c, now) {
  const late = overdue(c, now);
  const due = ["new", "dispatched", "reopened"].includes(c.state) ? "ack_due" : "resolve_due";
  const li = el("li", { className: `case ${c.severity}${late ? " overdue" : ""}` }, [
    el("div", {}, [
      el("b", { textContent: `#${c.id} ` }),
      el("span", { textContent: caseTitle(c) }),
      late ? el("span", { className: "badge", textContent: ` ${t("overdue")}` }) : "",
      climbed(c) ? el("span", { className: "badge rung", textContent: ` ${t(`rung.${c.rung}`)}` }) : "",
    ]),
    el("div", { className: "due", textContent: `${t(late ?? due)} ${fmtTime(c[late ?? due])}` }),
  ]);
  li.dataset.caseId = c.id;
  li.dataset.state = c.state;
  li.addEventListener("click", () => openCase(c.id));
  return li;
}

// Whether the case has climbed the escalation ladder (its rung is above the assignee).
function climbed(c) {
  return Boolean(c.rung) && c.rung !== "assignee";
}

// A flat or location: a registry address ("3-2-301") in words, free text as written.
function placeName(where) {
  if (!where) return null;
  return /^[0-9A-Za-z]+(-[0-9A-Za-z]+){0,2}$/.test(where) ? addressName(where) : where;
}

// An alarm's case is named by its rule in the user's language; a reported one keeps the
// words its reporter wrote.
function caseTitle(c) {
  if (CARE_CATEGORIES.has(c.category)) return `${categoryName(c.category)}: ${addressName(c.flat)}`;
  if (c.source === "alarm" && isRule(c.category)) return ruleTitle(c.category, c.title);
  const prefix = `${c.category}: `; // a report's title is "<category>: <its first line>"
  return c.title.startsWith(prefix) ? `${categoryName(c.category)}: ${c.title.slice(prefix.length)}` : c.title;
}

// The pane shows what was asked for last: an earlier answer arriving later is dropped.
// While a case is being read, the pane's `data-loading` names it: the board's refresh
// does not ask for it again (a second re-draw would wipe a form just opened).
let paneAsked = 0;

async function openCase(id) {
  const asked = ++paneAsked;
  const pane = $("#pane");
  pane.dataset.loading = String(id);
  let c;
  try {
    c = await api(`/cases/${id}`);
  } catch (err) {
    if (asked === paneAsked) delete pane.dataset.loading;
    throw err;
  }
  if (asked !== paneAsked) return;
  pane.dataset.caseId = String(c.id);
  pane.dataset.version = String(c.version);
  delete pane.dataset.device;
  delete pane.dataset.intake;
  const late = overdue(c, Date.now());
  const body = [
    el("h3", { textContent: `#${c.id} ${caseTitle(c)}` }),
    el("dl", {}, [
      ...pair(t("state"), `${t(`state.${c.state}`)} · ${t("version", { n: c.version })}`),
      ...pair(t("severity"), t(`sev.${c.severity}`)),
      ...pair(t("ack_due"), fmtTime(c.ack_due) + (late === "ack_due" ? ` ${t("overdue")}` : "")),
      ...pair(
        t("resolve_due"),
        fmtTime(c.resolve_due) + (late === "resolve_due" ? ` ${t("overdue")}` : ""),
      ),
      ...pair(
        t("location"),
        [c.compound, c.grid_id, placeName(c.flat ?? c.location) ?? c.device_id].filter(Boolean).join(" · "),
      ),
      ...pair(t("parties"), c.assignments.map((a) => partyKindName(a.party_kind)).join(", ") || "—"),
      ...(c.first_responsible ? pair(t("first_responsible"), c.first_responsible) : []),
      ...(c.claimed_by ? pair(t("claimed_by"), c.claimed_by) : []),
      ...(climbed(c) ? pair(t("rung"), t(`rung.${c.rung}`)) : []),
    ]),
  ];
  if (c.description) body.push(el("p", { textContent: c.description }));
  if (c.source === "resident" && mayWork()) body.push(residentReport(c.id, state.token));
  if (mayWork()) body.push(actionForm(c), caseForms(c, formsContext));
  body.push(
    el("h4", { textContent: t("history") }),
    el("ol", { className: "history" }, timeline(c)),
  );
  showPane(body);
}

// The case's events and its notifications (deliveries, repeat rounds, answers from a
// link) in one list by time; at the same instant an event comes before what it caused.
function timeline(c) {
  const events = c.history.map((e) => ({
    at: e.at,
    rank: 0,
    li: eventItem(e),
  }));
  const notices = (c.notices ?? []).map((n) => ({ at: n.at, rank: 1, li: noticeItem(n) }));
  return [...events, ...notices]
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.rank - b.rank)
    .map((x) => x.li);
}

function eventItem(e) {
  const parts = [fmtTime(e.at), actorName(e.actor), `${transitionName(e.transition)} → ${t(`state.${e.to_state}`)}`];
  const li = el("li", { textContent: [...parts, ...detailWords(e.transition, e.detail ?? {})].join(" · ") });
  li.dataset.transition = e.transition;
  return li;
}

// What an event's detail adds for a person: the mode and its consultation, the rating
// (and that it was taken by phone), the reason, the parties handed to, the staff named.
function detailWords(transition, d) {
  const words = [];
  if (d.channel) words.push(t(`channel.${d.channel}`));
  if (d.mode) words.push(t(`mode.${d.mode}`));
  if (d.participants?.length) words.push(`${t("form.participants")}: ${d.participants.join(", ")}`);
  if (d.decision) words.push(`${t("form.decision")}: ${d.decision}`);
  if (d.rating != null) words.push(t("form.stars", { n: d.rating }));
  if (d.by_phone) words.push(t("rated_by_phone"));
  if (d.comment) words.push(d.comment);
  if (transition === "cancelled" && d.reason) words.push(t(`cancel.${d.reason}`));
  else if (d.reason) words.push(d.reason);
  if (d.duplicate_of) words.push(t("duplicate_of", { id: d.duplicate_of }));
  if (transition === "merged" && d.into) words.push(t("merged_into", { id: d.into }));
  if (Array.isArray(d.to) && d.to.length) words.push(`${t("handed_to")}: ${d.to.map(assigneeName).join(", ")}`);
  if (transition === "party_added" && d.party) words.push(assigneeName(d.party));
  if (["assigned", "claimed"].includes(transition) && d.staff) words.push(d.staff);
  if (d.take_over) words.push(t("taken_over"));
  if (d.note) words.push(d.note);
  return words;
}

function assigneeName(a) {
  return [partyKindName(a.party_kind), a.party, a.staff].filter(Boolean).join(" ");
}

function partyKindName(kind) {
  const key = `party.${kind}`;
  return t(key) === key ? kind : t(key);
}

function noticeItem(n) {
  const round = n.round ? ` · ${t("notice.round", { n: n.round })}` : "";
  let text;
  if (n.kind === "repeat") {
    const added = n.added.length ? n.added.join(", ") : t("notice.nobody");
    text = `${t("notice.repeat", { n: n.round })} · ${t("notice.added")}: ${added} · ${t(
      "notice.told",
    )}: ${n.told.join(", ")}`;
  } else if (n.kind === "answer") {
    text = `${n.recipient} · ${t(`notice.answer.${n.answer}`)}`;
  } else {
    const reason = n.reason ? ` · ${n.reason}` : "";
    text = `${t("notice.to")} ${n.recipient} · ${n.channel ?? t("notice.no_channel")} · ${t(
      `notice.state.${n.state}`,
    )}${reason}${round}`;
  }
  const li = el("li", {
    className: `notice ${n.kind} ${n.state ?? ""}`.trim(),
    textContent: `${fmtTime(n.at)} · ${text}`,
  });
  li.dataset.kind = n.kind;
  return li;
}

function actionForm(c) {
  const allowed = ACTIONS.filter((a) => c.allowed_actions.includes(a));
  const note = el("textarea", { rows: 2, placeholder: t("note_text") });
  // Closing in the follow-up visit mode (复诊): the care programmes schedule the visit.
  const followUp = el("input", { type: "checkbox", className: "follow-up" });
  const buttons = allowed.map((action) => {
    const b = el("button", { textContent: t(action), className: `act-${action}` });
    b.addEventListener("click", () => act(c, action, note.value.trim(), b, followUp.checked));
    return b;
  });
  const children = [el("div", { className: "actions" }, buttons)];
  if (allowed.some((a) => a !== "acknowledge" && a !== "start")) {
    children.push(note);
    if (allowed.includes("close")) children.push(el("label", {}, [followUp, ` ${t("close_follow_up")}`]));
  }
  return el("div", { className: "form" }, children);
}

// What forms.js needs of the page: the API, the toast, and a re-read once a form acted.
const formsContext = {
  api,
  toast: (text) => toast(text),
  // A take-over is an organisation's own: a supervisor, or an administrator not the platform's.
  mayTakeOver: () =>
    state.user?.role === "supervisor" || (state.user?.role === "admin" && state.user?.organisation !== "platform"),
  after: async (id) => {
    await refreshBoard(); // re-reads the pane's case when it is on the board
    if ($("#pane").dataset.loading !== String(id)) await openCase(id);
  },
};

async function openIntake() {
  const asked = ++paneAsked;
  const form = await intakeForm(formsContext);
  if (asked !== paneAsked) return;
  const pane = $("#pane");
  delete pane.dataset.caseId;
  delete pane.dataset.device;
  pane.dataset.intake = "1";
  showPane([form]);
}

async function act(c, action, note, button, followUp = false) {
  const body = { version: c.version };
  // The API refuses these without a text (a resolution says what was done).
  if (["resolve", "reopen", "note"].includes(action) && !note) return toast(t("need_note"));
  if (action === "reopen") body.reason = note;
  else if (["resolve", "close", "note"].includes(action) && note) body.note = note;
  if (action === "close" && followUp) body.follow_up = true;
  button.disabled = true;
  try {
    await api(`/cases/${c.id}/${action}`, { method: "POST", body });
    toast(`#${c.id} ${t(action)}: ${t("done")}`);
  } catch (err) {
    // Only a version conflict is "someone acted first"; another 409 says its own reason.
    const stale = err.status === 409 && (!err.code || err.code === "case.version_conflict");
    toast(stale ? t("stale") : `${t("failed")}: ${refusal(err)}`);
  }
  await refreshBoard();
  await openCase(c.id);
}

// --- a device (the plan draws it: plan.js) --------------------------------------------

async function openDevice(id) {
  const to = new Date();
  const from = new Date(to.getTime() - 24 * 3600_000);
  const q = new URLSearchParams({ device: id, from: from.toISOString(), to: to.toISOString(), bucket: "1h" });
  const asked = ++paneAsked;
  const [detail, series] = await Promise.all([api(`/devices/${encodeURIComponent(id)}`), api(`/telemetry?${q}`)]);
  if (asked !== paneAsked) return;
  const pane = $("#pane");
  delete pane.dataset.caseId;
  delete pane.dataset.intake;
  pane.dataset.device = id;
  const charts = el("div", { className: "telemetry-charts" });
  showPane([
    el("h3", { textContent: `${deviceName(detail)} · ${kindName(detail.kind)}` }),
    el("dl", {}, [
      ...pair(t("device_id"), id),
      ...pair(t("location"), addressName(detail.address)),
      ...pair(t("status"), t(detail.online ? "online" : "offline")),
      ...detail.values.flatMap((v) => pair(metricName(v.key), `${v.value} (${fmtTime(v.ts)})`)),
    ]),
    ...deviceLinks(id),
    el("h4", { textContent: t("telemetry") }),
    series.series.length ? charts : el("p", { textContent: t("no_data") }),
  ]);
  if (series.series.length) telemetryCharts(charts, series.series, fmtHour);
}

// --- KPIs ------------------------------------------------------------------------------

async function loadKpis() {
  const page = await api("/kpis?by=category");
  const rows = page.data;
  const sum = (k) => rows.reduce((n, r) => n + (r[k] ?? 0), 0);
  const weighted = (k, w) => {
    const n = rows.reduce((s, r) => s + (r[k] != null ? r[w] : 0), 0);
    return n ? rows.reduce((s, r) => s + (r[k] != null ? r[k] * r[w] : 0), 0) / n : null;
  };
  const due = sum("due");
  const tiles = [
    ["received", String(sum("received"))],
    ["closure_rate", due ? pct(sum("closed") / due) : "—"],
    ["on_time_rate", due ? pct(sum("closed_on_time") / due) : "—"],
    ["ack_mean", mins(weighted("ack_mean_s", "received"))],
    ["resolve_mean", mins(weighted("resolve_mean_s", "closed"))],
  ];
  $("#kpi-tiles").replaceChildren(
    ...tiles.map(([k, v]) => el("div", { className: "tile" }, [el("b", { textContent: v }), el("span", { textContent: t(k) })])),
  );
  rateBars("rates", $("#chart-rates"), rows.map((r) => categoryName(r.key)), [
    { label: t("closure_rate"), data: rows.map((r) => 100 * (r.closure_rate ?? 0)) },
    { label: t("on_time_rate"), data: rows.map((r) => 100 * (r.on_time_rate ?? 0)) },
  ]);
  $("#kpi-care").replaceChildren(...careByGrid(page.care ?? []));
}

// The care programmes of each grid in the caller's scope (GET /kpis's `care`), a row a
// grid: the same figures as the care panel's tiles.
const CARE_COLUMNS = [
  "plans_active",
  "visits_overdue",
  "on_time_rate",
  "follow_ups_open",
  "deliveries_done",
  "deliveries_missed",
  "deliveries_unrecorded",
];

function careByGrid(grids) {
  if (!grids.length) return [];
  const several = new Set(grids.map((g) => g.compound)).size > 1; // grid ids repeat across compounds
  const value = (g, k) => (k === "on_time_rate" ? (g[k] == null ? "—" : pct(g[k])) : String(g[k]));
  const head = el("tr", {}, [el("th", { textContent: t("care.grid") }), ...CARE_COLUMNS.map((k) => el("th", { textContent: t(`care.kpi.${k}`) }))]);
  const rows = grids.map((g) =>
    withData(el("tr", {}, [
      el("td", { textContent: several ? `${g.compound} ${gridLabel(g.grid)}` : gridLabel(g.grid) }),
      ...CARE_COLUMNS.map((k) => withData(el("td", { textContent: value(g, k) }), { kpi: k })),
    ]), { key: g.key }),
  );
  return [
    el("h3", { textContent: t("kpi.care_by_grid") }),
    el("table", { className: "care-table", id: "kpi-care-table" }, [el("thead", {}, [head]), el("tbody", {}, rows)]),
  ];
}

function drawOpenCharts() {
  if (!$("#kpis") || $("#kpis").hidden) return;
  const open = state.cases.filter((c) => !["closed", "cancelled", "merged", "resolved"].includes(c.state));
  const count = (key) => {
    const m = new Map();
    for (const c of open) m.set(key(c), (m.get(key(c)) ?? 0) + 1);
    return m;
  };
  for (const [name, m, label] of [
    ["grid", count((c) => c.grid_id ?? ""), gridLabel],
    ["category", count((c) => c.category), categoryName],
  ]) {
    barsByKey(name, $(`#chart-${name}`), [...m.keys()].map(label), [...m.values()], t(`open_by_${name}`), name === "category");
  }
}

// "C001-grid2" or "g2" -> "Grid 2" / "网格2"; a grid named otherwise keeps its id.
function gridLabel(id) {
  if (!id) return t("no_grid");
  const m = /g(?:rid)?[-_]?(\d+)$/i.exec(id);
  return m ? t("plan.grid").replace("{id}", m[1]) : id;
}

// --- wall and phone ---------------------------------------------------------------------

// The main grid and the side pane start below the header, however many rows it wraps to.
const header = document.querySelector("header");
new ResizeObserver(() => {
  document.documentElement.style.setProperty("--header-h", `${header.offsetHeight}px`);
}).observe(header);

let choosePanel = () => {}; // the phone's tab or the wall's panel shown; setupRotation's

function setupRotation(panels) {
  const choose = (name) => {
    for (const p of document.querySelectorAll("main .panel")) p.classList.toggle("current", p.dataset.panel === name);
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("current", b.dataset.panel === name);
    resizeCharts();
    if (name === "district") showDistrict(); // read when shown, not on every desk's start
  };
  choosePanel = choose;
  if (wall) {
    document.body.classList.add("wall");
    document.documentElement.classList.add("wall"); // rem sizes scale with the root
    const rotating = panels.filter((p) => !["feed", "care", "parking", "desk"].includes(p)); // desks' work
    let i = Math.max(0, rotating.indexOf(params.get("panel"))); // ?panel=district: a command centre's first
    choose(rotating[i]);
    setInterval(() => choose(rotating[(i = (i + 1) % rotating.length)]), WALL_ROTATE_MS);
    return;
  }
  document.body.classList.add("tabbed");
  for (const b of document.querySelectorAll("#tabs button")) {
    b.hidden = !panels.includes(b.dataset.panel);
    b.addEventListener("click", () => choose(b.dataset.panel));
  }
  choose("feed");
}

// --- small helpers ----------------------------------------------------------------------

function withData(node, data) {
  Object.assign(node.dataset, data);
  return node;
}

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function pair(term, value) {
  return [el("dt", { textContent: term }), el("dd", { textContent: value })];
}

function showPane(children) {
  delete $("#pane").dataset.loading;
  $("#pane-body").replaceChildren(...children);
  $("#pane").hidden = false;
}

function toast(text) {
  const box = $("#toast");
  box.textContent = text;
  box.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove("show"), 3000);
}

function pct(x) {
  return `${(100 * x).toFixed(1)}%`;
}

function mins(s) {
  return s == null ? "—" : `${(s / 60).toFixed(1)} ${t("minutes")}`;
}

// --- start ------------------------------------------------------------------------------

setLang(params.get("lang") ?? getLang()); // ?lang=en|zh for a wall screen with no keyboard
$("#lang").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh")); // panels re-draw
$("#login").addEventListener("submit", login);
$("#logout").addEventListener("click", logout);
$("#intake-open").addEventListener("click", () => openIntake());
$("#pane-close").addEventListener("click", () => {
  $("#pane").hidden = true;
});
if (state.token) start().catch(() => logout());
