// The resident page: sign in with a code, link a home, report with photos, follow each
// report step by step, rate it or open it again, read the compound's announcements
// (notices.js). Plain DOM, no build step; the last list of reports is kept in
// localStorage so that it reads offline (sw.js keeps the page).
import { getLang, setLang, t } from "./i18n.js";
import { forgetNotices, initNotices, loadNotices, renderNotices, showKeptNotices } from "./notices.js";
import { hidePlan, pointValue, resetPoint, showPlan } from "./point.js";
import {
  forgetDeliberations, initDeliberations, loadDeliberations, renderDeliberations, showKeptDeliberations,
} from "./deliberations.js";

const API = "/api/v1/residents";
const TOKEN = "dayuan.resident.token";
const LAST = "dayuan.resident.last";
const $ = (id) => document.getElementById(id);
let me = null;
let current = null; // the case shown in detail
let stars = 0;
// The categories residents use most, first (the rest after them).
const COMMON = ["repair", "environment", "noise", "parking", "security", "neighbour_dispute", "elderly_care"];

function token() { return localStorage.getItem(TOKEN); }

async function call(path, { method = "GET", json, form } = {}) {
  const headers = {};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form !== undefined) body = form;
  const response = await fetch(API + path, { method, headers, body });
  if (response.status === 401 && token() && !path.startsWith("/auth/")) {
    localStorage.removeItem(TOKEN);
    show("signin");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const data = await response.json();
      detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    } catch { /* not JSON */ }
    throw new Error(detail);
  }
  return response.headers.get("content-type")?.includes("json") ? response.json() : response;
}

function say(text, error = false) {
  const box = $("message");
  box.textContent = text;
  box.classList.toggle("error", error);
  box.hidden = !text;
}

function failed(err) { say(t("failed") + err.message, true); }

function translate() {
  document.documentElement.lang = getLang() === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

function show(section) {
  for (const id of ["signin", "home", "report", "detail", "notice"]) $(id).hidden = id !== section;
}

function words(w) { return w[getLang()] ?? w.en; }

function when(iso) {
  return new Date(iso).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB", {
    dateStyle: "medium", timeStyle: "short",
  });
}

function renderHousehold() {
  const home = me.household;
  const status = $("household-status");
  $("household-form").hidden = Boolean(home);
  if (!home) status.textContent = t("household_none");
  else if (!home.confirmed) status.textContent = t("household_pending", { flat: home.flat });
  else status.textContent = t("household_ok", { flat: home.flat });
  $("where-flat").disabled = !(home && home.confirmed);
  const select = $("category");
  const order = (c) => (COMMON.indexOf(c) + COMMON.length + 1) % (COMMON.length + 1);
  const categories = [...me.categories].sort((a, b) => order(a) - order(b));
  select.replaceChildren(...categories.map((c) => {
    const option = document.createElement("option");
    option.value = c;
    option.textContent = t(`cat_${c}`);
    return option;
  }));
}

function renderCases(list) {
  const ol = $("cases");
  if (!list.length) {
    const li = document.createElement("li");
    li.textContent = t("no_reports");
    ol.replaceChildren(li);
    return;
  }
  ol.replaceChildren(...list.map((c) => {
    const li = document.createElement("li");
    li.className = "case";
    li.dataset.id = c.id;
    const title = document.createElement("div");
    title.textContent = `${t("report_no", { id: c.id })} · ${t(`cat_${c.category}`)}`;
    const state = document.createElement("div");
    state.className = "state";
    state.textContent = words(c.state_words);
    const what = document.createElement("div");
    what.textContent = c.description ?? "";
    li.append(title, state, what);
    li.addEventListener("click", () => openCase(c.id));
    return li;
  }));
}

async function loadHome() {
  me = await call("/me");
  renderHousehold();
  show("home");
  await loadNotices();
  await loadDeliberations();
  try {
    const cases = await call("/me/cases");
    localStorage.setItem(LAST, JSON.stringify({ at: new Date().toISOString(), me, data: cases.data }));
    $("offline").hidden = true;
    renderCases(cases.data);
  } catch (err) {
    offline(err);
  }
}

function offline(err) {
  const last = JSON.parse(localStorage.getItem(LAST) || "null");
  if (!last) { failed(err); return; }
  me = me ?? last.me;
  renderHousehold();
  show("home");
  showKeptNotices();
  showKeptDeliberations();
  $("offline").textContent = t("offline", { at: when(last.at) });
  $("offline").hidden = false;
  renderCases(last.data);
}

async function photoImg(caseId, n) {
  const response = await call(`/me/cases/${caseId}/photos/${n}`);
  const img = document.createElement("img");
  img.alt = `${n}`;
  img.src = URL.createObjectURL(await response.blob());
  return img;
}

function renderDetail(c) {
  current = c;
  $("detail-title").textContent = `${t("report_no", { id: c.id })} · ${t(`cat_${c.category}`)}`;
  $("detail-state").textContent = words(c.state_words);
  $("steps").replaceChildren(...c.steps.map((s) => {
    const li = document.createElement("li");
    li.className = "step";
    const at = document.createElement("time");
    at.dateTime = s.at;
    at.textContent = when(s.at);
    const text = document.createElement("span");
    text.textContent = words(s.words);
    li.append(at, text);
    return li;
  }));
  $("rate-form").hidden = !c.may_rate;
  $("reopen-form").hidden = !c.may_reopen_until;
  setStars(c.rating ?? 0);
  show("detail");
}

async function openCase(id) {
  say("");
  try {
    const c = await call(`/me/cases/${id}`);
    renderDetail(c);
    const photos = [];
    for (let n = 1; n <= c.photos; n += 1) photos.push(await photoImg(id, n));
    $("detail-photos").replaceChildren(...photos);
  } catch (err) {
    failed(err);
  }
}

function setStars(n) {
  stars = n;
  for (const b of document.querySelectorAll(".star")) b.classList.toggle("on", Number(b.dataset.n) <= n);
}

function wire() {
  $("lang").addEventListener("click", () => {
    setLang(getLang() === "zh" ? "en" : "zh");
    translate();
    if (me) { renderHousehold(); renderNotices(); renderDeliberations(); if (!$("home").hidden) loadHome(); if (current && !$("detail").hidden) renderDetail(current); }
  });
  $("phone-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await call("/auth/code", { method: "POST", json: { phone: $("phone").value, language: getLang() } });
      say(t("code_sent"));
      $("code-form").hidden = false;
      $("code").focus();
    } catch (err) { failed(err); }
  });
  $("code-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const got = await call("/auth/token", {
        method: "POST", json: { phone: $("phone").value, code: $("code").value, language: getLang() },
      });
      localStorage.setItem(TOKEN, got.access_token);
      say("");
      await loadHome();
    } catch (err) { failed(err); }
  });
  $("household-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      me = await call("/me/household", {
        method: "POST", json: { compound: $("household-compound").value.trim(), flat: $("household-flat").value.trim() },
      });
      renderHousehold();
    } catch (err) { failed(err); }
  });
  $("report-open").addEventListener("click", () => { say(""); show("report"); });
  $("report-cancel").addEventListener("click", () => show("home"));
  $("detail-back").addEventListener("click", () => { say(""); loadHome(); });
  $("sign-out").addEventListener("click", async () => {
    try { await call("/me/sign-out", { method: "POST" }); } catch { /* offline: forget it here */ }
    localStorage.removeItem(TOKEN);
    localStorage.removeItem(LAST);
    forgetNotices();
    forgetDeliberations();
    me = null;
    show("signin");
  });
  const home = () => (me.household ? me.household.compound : $("household-compound").value.trim());
  for (const radio of document.querySelectorAll("input[name=where]")) {
    radio.addEventListener("change", () => {
      const where = document.querySelector("input[name=where]:checked").value;
      $("place").hidden = where === "flat" || where === "point";
      if (where !== "point") return hidePlan();
      showPlan({ call, compound: home(), t }).catch(failed);
    });
  }
  $("report-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData();
    const where = document.querySelector("input[name=where]:checked").value;
    if (where === "point" && !pointValue()) {
      say(t("tap_plan"));
      return;
    }
    form.append("category", $("category").value);
    form.append("description", $("description").value);
    form.append("where", where);
    form.append("place", where === "flat" ? "" : where === "point" ? pointValue() : $("place").value);
    if (!(me.household && me.household.confirmed)) {
      form.append("anonymous", "true");
      form.append("compound", home());
    }
    for (const file of $("photos").files) form.append("photos", file);
    const button = $("submit-report");
    button.disabled = true;
    try {
      const c = await call("/me/reports", { method: "POST", form });
      $("report-form").reset();
      resetPoint();
      hidePlan();
      $("place").hidden = false;
      say(t("sent"));
      await openCase(c.id);
    } catch (err) {
      failed(err);
    } finally {
      button.disabled = false;
    }
  });
  for (const b of document.querySelectorAll(".star")) b.addEventListener("click", () => setStars(Number(b.dataset.n)));
  $("rate-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!stars) return;
    try {
      const c = await call(`/me/cases/${current.id}/rating`, {
        method: "POST", json: { rating: stars, comment: $("rate-comment").value || null },
      });
      renderDetail(c);
      say(t("rated"));
    } catch (err) { failed(err); }
  });
  $("reopen-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const c = await call(`/me/cases/${current.id}/reopen`, { method: "POST", json: { reason: $("reopen-reason").value } });
      renderDetail(c);
      say(t("reopened"));
    } catch (err) { failed(err); }
  });
}

translate();
wire();
initNotices({ call, show, when });
initDeliberations({ call, say, failed });
if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
if (token()) {
  loadHome().catch((err) => { if (!token()) show("signin"); else offline(err); });
} else {
  show("signin");
}
