// The resident page's announcements: the current notices for the resident's confirmed
// household, newest first, the unread ones marked; opening one shows it in large text
// and marks it read for the household. The last list is kept in localStorage so that it
// reads offline like the status; a notice opened offline is marked read locally and its
// read is sent when the page is next online.
import { t } from "./i18n.js";

const KEPT = "dayuan.resident.notices";
const PENDING = "dayuan.resident.notice-reads";
const $ = (id) => document.getElementById(id);
let page = null; // { call, show, when } from resident.js
let kept = { data: [], flat: null };

const load_ = (key, empty) => JSON.parse(localStorage.getItem(key) || "null") ?? empty;
const pending = () => load_(PENDING, []);
const keep = () => localStorage.setItem(KEPT, JSON.stringify(kept));

export function initNotices(helpers) {
  page = helpers;
  $("notice-back").addEventListener("click", () => page.show("home"));
}

export function forgetNotices() {
  localStorage.removeItem(KEPT);
  localStorage.removeItem(PENDING);
  kept = { data: [], flat: null };
}

// A fetch that never reached the server (offline) rejects with a TypeError; an answer
// with an error status (the notice withdrawn meanwhile) is an Error with its reason.
const unreachable = (err) => err instanceof TypeError;

async function sendPending() {
  const left = [];
  for (const id of pending()) {
    if (left.length) { left.push(id); continue; }
    try {
      await page.call(`/me/announcements/${id}/read`, { method: "POST" });
    } catch (err) {
      if (unreachable(err)) left.push(id);
    }
  }
  localStorage.setItem(PENDING, JSON.stringify(left));
}

// The list from the API (kept for offline); the kept one when the API cannot be reached.
export async function loadNotices() {
  try {
    await sendPending();
    const got = await page.call("/me/announcements");
    kept = { data: got.data, flat: got.flat };
    keep();
  } catch {
    kept = load_(KEPT, { data: [], flat: null });
  }
  renderNotices();
}

export function showKeptNotices() {
  kept = load_(KEPT, { data: [], flat: null });
  renderNotices();
}

export function renderNotices() {
  const ol = $("notices");
  const waiting = new Set(pending());
  if (!kept.data.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = kept.flat ? t("no_notices") : t("notices_need_home");
    ol.replaceChildren(li);
    return;
  }
  ol.replaceChildren(...kept.data.map((n) => {
    const read = n.read || waiting.has(n.id);
    const li = document.createElement("li");
    li.className = read ? "notice" : "notice unread";
    li.dataset.id = n.id;
    const title = document.createElement("div");
    title.className = "notice-title";
    if (!read) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = t("unread");
      title.append(badge, " ");
    }
    title.append(n.title);
    const at = document.createElement("time");
    at.dateTime = n.starts_at;
    at.textContent = page.when(n.starts_at);
    li.append(title, at);
    li.addEventListener("click", () => openNotice(n.id));
    return li;
  }));
}

async function openNotice(id) {
  const n = kept.data.find((x) => x.id === id);
  if (!n) return;
  $("notice-title").textContent = n.title;
  $("notice-when").textContent = t("notice_until", { from: page.when(n.starts_at), to: page.when(n.ends_at) });
  $("notice-body").textContent = n.body;
  page.show("notice");
  if (n.read) return;
  n.read = true;
  keep();
  try {
    await page.call(`/me/announcements/${id}/read`, { method: "POST" });
  } catch (err) {
    if (unreachable(err)) localStorage.setItem(PENDING, JSON.stringify([...new Set([...pending(), id])]));
  }
  renderNotices();
}
