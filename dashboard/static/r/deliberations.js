// The resident page's deliberations (民主议事): the matters that affect or invite the
// resident's confirmed household, newest first, in large text: what is to be decided,
// its agenda, the opinions given so far (a household's by its building, never its flat),
// a box for the household's own opinion while opinions are collected, the three vote
// buttons while voting (the household's vote marked), and the decision with its tally
// once the vote closed. The last list is kept in localStorage so that it reads offline;
// a vote or an opinion needs the connection (it is not kept to be sent later: a vote
// sent after the vote closed would be refused).
import { t } from "./i18n.js";

const KEPT = "dayuan.resident.deliberations";
const $ = (id) => document.getElementById(id);
let page = null; // { call, say, failed } from resident.js
let shown = { data: [], flat: null };
const CHOICES = ["for", "against", "abstain"];

export function initDeliberations(helpers) {
  page = helpers;
}

export function forgetDeliberations() {
  localStorage.removeItem(KEPT);
  shown = { data: [], flat: null };
}

// The list from the API (kept for offline); the kept one when the API cannot be reached.
export async function loadDeliberations() {
  try {
    const got = await page.call("/me/deliberations");
    shown = { data: got.data, flat: got.flat };
    localStorage.setItem(KEPT, JSON.stringify(shown));
  } catch {
    showKeptDeliberations();
    return;
  }
  renderDeliberations();
}

export function showKeptDeliberations() {
  shown = JSON.parse(localStorage.getItem(KEPT) || "null") ?? { data: [], flat: null };
  renderDeliberations();
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function renderDeliberations() {
  const ol = $("deliberations");
  if (!shown.data.length) {
    ol.replaceChildren(el("li", "empty", shown.flat ? t("delib_none") : t("delib_need_home")));
    return;
  }
  ol.replaceChildren(...shown.data.map(matter));
}

function matter(m) {
  const li = el("li", `deliberation ${m.status}`);
  li.dataset.id = m.id;
  li.append(el("div", "delib-title", m.title), el("div", "state", t(`delib_${m.status}`)));
  li.append(el("p", "delib-description", m.description));
  if (m.agenda.length) {
    li.append(el("div", "delib-label", t("agenda")));
    const agenda = el("ol", "agenda");
    agenda.append(...m.agenda.map((item) => el("li", "", item)));
    li.append(agenda);
  }
  li.append(opinions(m));
  if (m.status === "open") li.append(opinionForm(m));
  if (m.status === "voting") li.append(voting(m));
  if (m.decision !== null) li.append(decision(m));
  return li;
}

function opinions(m) {
  const box = el("div", "opinions");
  box.append(el("div", "delib-label", t("opinions")));
  if (!m.opinions.length) {
    box.append(el("p", "note", t("no_opinions")));
    return box;
  }
  const ol = el("ol", "opinion-list");
  ol.append(...m.opinions.map((o) => {
    const who = o.mine ? t("opinion_ours") : o.kind === "party" ? o.party : t("opinion_building", { building: o.building });
    const li = el("li", o.mine ? "opinion mine" : "opinion");
    li.append(el("span", "who", `${who}: `), o.body);
    return li;
  }));
  box.append(ol);
  return box;
}

function opinionForm(m) {
  const form = el("form", "opinion-form");
  const id = `opinion-${m.id}`;
  const label = el("label", "", t("your_opinion"));
  label.htmlFor = id;
  const text = el("textarea");
  text.id = id;
  text.rows = 3;
  text.maxLength = 2000;
  text.required = true;
  const send = el("button", "opinion-send", t("send_opinion"));
  send.type = "submit";
  form.append(label, text, send);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await page.call(`/me/deliberations/${m.id}/opinions`, { method: "POST", json: { body: text.value } });
      page.say(t("opinion_sent"));
      await loadDeliberations();
    } catch (err) { page.failed(err); }
  });
  return form;
}

function voting(m) {
  const box = el("div", "voting");
  if (!m.can_vote) {
    box.append(el("p", "note", t("no_vote")));
    return box;
  }
  if (m.my_vote) box.append(el("p", "my-vote", t("voted", { choice: t(`vote_${m.my_vote}`) })));
  if (m.my_vote && !m.votes_changeable) return box;
  box.append(el("p", "note", m.votes_changeable ? t("vote_changeable") : t("vote_final")));
  const row = el("div", "vote-buttons");
  row.append(...CHOICES.map((choice) => {
    const b = el("button", `vote ${choice}`, t(`vote_${choice}`));
    b.type = "button";
    b.dataset.choice = choice;
    b.setAttribute("aria-pressed", String(m.my_vote === choice));
    b.addEventListener("click", async () => {
      try {
        await page.call(`/me/deliberations/${m.id}/vote`, { method: "POST", json: { choice } });
        page.say(t("vote_sent"));
        await loadDeliberations();
      } catch (err) { page.failed(err); }
    });
    return b;
  }));
  box.append(row);
  return box;
}

function decision(m) {
  const box = el("div", "decision");
  box.append(el("div", "delib-label", t("decision")));
  box.append(el("p", "outcome", t(`outcome_${m.outcome}`)));
  box.append(el("p", "decision-text", m.decision));
  if (m.tally) {
    const x = m.tally;
    box.append(el("p", "tally", t("tally", {
      for: x.votes_for, against: x.votes_against, abstain: x.abstentions, electorate: x.electorate,
    })));
  }
  if (m.my_vote) box.append(el("p", "my-vote", t("voted", { choice: t(`vote_${m.my_vote}`) })));
  return box;
}
