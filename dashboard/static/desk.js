// The deliberation desk (民主议事厅, issue 19): a compound's matters by state, and one
// matter's life as a residents' committee clerk or grid worker runs it - convene it (title,
// description, agenda, affected scope, quorum, whether parties vote and votes may change),
// add parties and invited households, record the opinions a party or a household gave
// them, open it, start the vote, record a party's vote, watch the running tally, close the
// vote with the decision, publish it, archive it, and point a case to it. Each step is a
// button only in the state that allows it; every refusal of the API is shown in the form
// that was sent, in the user's language when the reason is one the desk knows. Roles that
// only read (all but admin and grid_worker: the API's run_deliberations) see the same
// lists and matters without a button. No build step: a plain ES module, like care.js.

import { addressName, buildingName, fmtTime, onLanguageChange, t } from "./i18n.js";

const RUNNERS = new Set(["admin", "grid_worker"]); // the API's run_deliberations
const STATES = ["draft", "open", "voting", "decided", "archived"];
const CHOICES = ["for", "against", "abstain"];
const SCOPES = ["compound", "buildings", "households"];
const LIST_PAGE = 200; // a compound convenes a few matters a month: all of them fit
const REGISTRY_PAGE = 100; // buildings and parties of one compound
// The running tally while a matter is voting: no stream carries votes, so it is read
// again this often while the matter is on screen (residents vote over hours, not seconds).
const TALLY_REFRESH_MS = 5_000;

let ctx = null; // { api, toast, user, openCase } from app.js
const view = {
  compound: null,
  compounds: [],
  matters: [],
  count: 0,
  filter: "", // a state, or "" for all
  matter: null, // the matter open on the desk
  form: null, // the one form open: "new", "participants", "opinion", "vote", "close", "case"
  stepError: null, // a refused step, kept over the re-draw that shows the matter as it is
  buildings: [],
  parties: [],
  stale: false, // the desk must be drawn anew (a step, a saved form) even if no data changed
};
const $ = (sel) => document.querySelector(sel);

export async function loadDesk(context) {
  ctx = context;
  const toggle = $("#desk-toggle");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    document.body.classList.remove("care-view"); // one desk-wide panel at a time
    $("#care-toggle")?.classList.remove("current");
    const on = document.body.classList.toggle("desk-view");
    toggle.classList.toggle("current", on);
    if (on) refresh().catch(failed);
  });
  $("#care-toggle")?.addEventListener("click", () => {
    document.body.classList.remove("desk-view");
    toggle.classList.remove("current");
  });
  $("#tabs button[data-panel='desk']")?.addEventListener("click", () => refresh().catch(failed));
  view.compounds = (await ctx.api("/compounds")).data.map((c) => c.id);
  view.compound = view.compounds[0] ?? null;
  onLanguageChange(draw);
  if (view.compound) await loadRegistry();
  await refresh({ force: true });
  setInterval(() => liveTally().catch(failed), TALLY_REFRESH_MS);
}

function runs() {
  return RUNNERS.has(ctx.user.role);
}

// Whether the user runs this matter: a grid worker the matters of their grids' buildings
// and households only, as the API decides (their buildings are the ones /buildings lists).
function runsMatter(m) {
  if (!runs()) return false;
  if (ctx.user.role !== "grid_worker") return true;
  if (m.scope === "compound") return false;
  const mine = new Set(view.buildings);
  return [...m.buildings, ...m.flats.map((f) => f.split("-")[0])].every((b) => mine.has(b));
}

function failed(err) {
  ctx.toast(`${t("failed")}: ${reason(err)}`);
}

async function loadRegistry() {
  const q = `compound=${enc(view.compound)}&limit=${REGISTRY_PAGE}`;
  const [buildings, parties] = await Promise.all([ctx.api(`/buildings?${q}`), ctx.api(`/parties?${q}`)]);
  view.buildings = buildings.data.map((b) => b.id);
  view.parties = parties.data;
}

// The list and the open matter as of now; never drawn over a form someone is filling in.
let asked = 0;
async function refresh({ force = false } = {}) {
  if (!view.compound) return draw();
  if (force) view.stale = true; // kept when a later read overtakes this one
  const mine = ++asked;
  const open = view.matter;
  const [page, matter] = await Promise.all([
    ctx.api(`/deliberations?compound=${enc(view.compound)}&limit=${LIST_PAGE}`),
    open ? ctx.api(matterPath(open)) : null,
  ]);
  if (mine !== asked) return;
  const before = drawn();
  [view.matters, view.count] = [page.data, page.count];
  if (matter && view.matter?.id === matter.id) view.matter = matter;
  if (!view.form && (view.stale || drawn() !== before)) draw(); // unchanged: nodes (a hover, a focus) stay
}

function drawn() {
  return JSON.stringify([view.matters, view.count, view.matter]);
}

// While a matter votes and the desk shows it: the tally again, in place (a form stays).
async function liveTally() {
  const m = view.matter;
  if (!m || m.status !== "voting" || !$("#desk").offsetParent) return;
  const now = await ctx.api(matterPath(m));
  if (view.matter?.id !== now.id || JSON.stringify(now) === JSON.stringify(view.matter)) return;
  view.matter = now;
  if (view.form) $("#desk-tally")?.replaceWith(tallySection(now));
  else draw();
}

function matterPath(m) {
  return `/deliberations/${enc(m.compound)}/${m.id}`;
}

// A request from a form: its refusal goes into the form's error line, and the form stays.
async function send(path, body, error, done, method = "POST") {
  try {
    const answer = await ctx.api(path, { method, body });
    view.form = null;
    ctx.toast(t(done));
    return answer;
  } catch (err) {
    error.textContent = t("desk.refused_why", { why: reason(err) });
    error.title = String(err.detail ?? err.message); // the API's own words, for support
    return null;
  }
}

async function step(m, name, body) {
  view.stepError = null;
  try {
    view.matter = await ctx.api(`${matterPath(m)}/${name}`, { method: "POST", body });
    view.form = null;
    ctx.toast(t(`desk.done.${name}`));
  } catch (err) {
    if (name === "close" && view.form === "close") {
      $("#desk-close-error").textContent = t("desk.refused_why", { why: reason(err) });
      return;
    }
    view.stepError = err; // drawn in the language of the moment
    view.form = null;
  }
  await refresh({ force: true }); // a refused step: the matter as it is now, the reason beside it
}

// --- drawing ----------------------------------------------------------------------------

function draw() {
  view.stale = false;
  const body = $("#desk-body");
  if (!view.compound) return body.replaceChildren(el("p", { className: "desk-empty", textContent: t("desk.no_compound") }));
  const layout = el("div", { className: `desk-layout${view.matter ? " with-matter" : ""}` }, [
    el("div", { className: "desk-list" }, [controls(), ...(view.form === "new" ? [newForm()] : []), listTable()]),
    ...(view.matter ? [matterView(view.matter)] : []),
  ]);
  body.replaceChildren(layout);
}

function controls() {
  const parts = [];
  if (view.compounds.length > 1) {
    const compound = select("desk-compound", view.compounds.map((c) => [c, c]), view.compound, async (value) => {
      Object.assign(view, { compound: value, matter: null, form: null, stepError: null });
      await loadRegistry();
      await refresh({ force: true });
    });
    parts.push(el("label", {}, [el("span", { textContent: t("desk.compound") }), compound]));
  }
  const counts = new Map(STATES.map((s) => [s, view.matters.filter((m) => m.status === s).length]));
  const filters = ["", ...STATES].map((s) => {
    const n = s ? counts.get(s) : view.matters.length;
    const b = button(`desk-filter-${s || "all"}`, `${t(s ? `desk.state.${s}` : "desk.all")} (${n})`, () => {
      view.filter = s;
      draw();
    });
    b.className = `desk-filter${view.filter === s ? " current" : ""}`;
    b.dataset.state = s;
    return b;
  });
  parts.push(el("div", { className: "desk-filters", id: "desk-filters" }, filters));
  if (runs()) {
    parts.push(
      button("desk-new", t("desk.new"), () => {
        view.form = "new";
        draw();
        $("#desk-title")?.focus();
      }),
    );
  }
  return el("div", { className: "desk-controls" }, parts);
}

function listTable() {
  const shown = view.matters.filter((m) => !view.filter || m.status === view.filter);
  if (!shown.length) return el("p", { className: "desk-empty", id: "desk-list", textContent: t("desk.none") });
  const head = ["desk.title", "desk.state", "desk.scope", "desk.opinions", "desk.cast", "desk.convened"];
  const rows = shown.map((m) => {
    const current = view.matter?.id === m.id ? " current" : "";
    const props = { className: `desk-row ${m.status}${current}`, dataset: { matterId: String(m.id), status: m.status } };
    const row = el("tr", props, [
      cell(m.title),
      el("td", {}, [stateBadge(m.status)]),
      cell(scopeText(m)),
      cell(String(m.opinions.length)),
      cell(m.status === "draft" || m.status === "open" ? "—" : `${m.tally.cast} / ${m.tally.electorate}`),
      cell(fmtTime(m.created_at, { seconds: false })),
    ]);
    row.addEventListener("click", () => openMatter(m));
    return row;
  });
  const parts = [
    el("table", { className: "desk-table", id: "desk-list" }, [
      el("thead", {}, [el("tr", {}, head.map((h) => el("th", { textContent: t(h) })))]),
      el("tbody", {}, rows),
    ]),
  ];
  if (view.count > view.matters.length) {
    const newest = t("desk.newest", { n: view.matters.length, total: view.count });
    parts.push(el("p", { className: "desk-hint", textContent: newest }));
  }
  return el("div", {}, parts);
}

function openMatter(m) {
  Object.assign(view, { matter: m, form: null, stepError: null });
  draw();
  refresh().catch(failed);
}

function matterView(m) {
  const close = button("desk-back", t("desk.back"), () => {
    Object.assign(view, { matter: null, form: null, stepError: null });
    draw();
  });
  const parts = [
    el("div", { className: "desk-matter-head" }, [el("h3", { id: "desk-matter-title", textContent: m.title }), stateBadge(m.status), close]),
    facts(m),
    el("p", { className: "desk-description", textContent: m.description }),
  ];
  if (m.agenda.length) {
    const items = m.agenda.map((a) => el("li", { textContent: a }));
    parts.push(el("h4", { textContent: t("desk.agenda") }), el("ol", { className: "desk-agenda", id: "desk-agenda" }, items));
  }
  if (runsMatter(m)) parts.push(stepsSection(m));
  else if (runs()) parts.push(el("p", { className: "desk-hint", id: "desk-not-yours", textContent: t("desk.not_yours") }));
  if (m.status !== "draft" && m.status !== "open") parts.push(tallySection(m));
  if (m.decision) parts.push(decisionSection(m));
  parts.push(participantsSection(m), opinionsSection(m));
  if (m.status === "voting" && m.organisations_vote && runsMatter(m)) parts.push(partyVoteSection(m));
  parts.push(casesSection(m));
  return el("article", { className: `desk-matter ${m.status}`, id: "desk-matter", dataset: { matterId: String(m.id), status: m.status } }, parts);
}

function facts(m) {
  const yes = (v) => t(v ? "desk.yes" : "desk.no");
  const rows = [
    ["desk.scope", scopeText(m)],
    ["desk.households", String(m.households)],
    ["desk.quorum", m.quorum],
    ["desk.parties_vote", yes(m.organisations_vote)],
    ["desk.votes_changeable", yes(m.votes_changeable)],
    ["desk.convened", `${fmtTime(m.created_at, { seconds: false })} · ${m.created_by}`],
  ];
  if (m.opened_at) rows.push(["desk.opened_at", fmtTime(m.opened_at, { seconds: false })]);
  if (m.voting_at) rows.push(["desk.voting_at", fmtTime(m.voting_at, { seconds: false })]);
  if (m.decided_at) rows.push(["desk.decided_at", fmtTime(m.decided_at, { seconds: false })]);
  if (m.published_at) rows.push(["desk.published_at", fmtTime(m.published_at, { seconds: false })]);
  if (m.archived_at) rows.push(["desk.archived_at", fmtTime(m.archived_at, { seconds: false })]);
  return el("dl", { className: "desk-facts" }, rows.flatMap(([k, v]) => [el("dt", { textContent: t(k) }), el("dd", { textContent: v })]));
}

// The step of the matter's life its state allows: one button (closing asks the decision).
function stepsSection(m) {
  const next = {
    draft: ["open", () => step(m, "open")],
    open: ["voting", () => step(m, "voting")],
    voting: ["close", () => openForm("close")],
    decided: m.published_at ? ["archive", () => step(m, "archive")] : ["publish", () => step(m, "publish")],
  }[m.status];
  const parts = [];
  if (next) {
    const [name, act] = next;
    const b = button(`desk-step-${name}`, t(`desk.step.${name}`), act);
    b.className = "desk-step";
    b.dataset.step = name;
    parts.push(b);
  }
  if (view.form === "close") parts.push(closeForm(m));
  const refused = view.stepError ? t("desk.refused_why", { why: reason(view.stepError) }) : "";
  parts.push(el("p", { className: "error", id: "desk-step-error", role: "alert", textContent: refused }));
  return el("section", { className: "desk-section desk-steps", id: "desk-steps" }, parts);
}

function tallySection(m) {
  const k = m.tally;
  const live = m.status === "voting";
  const outcome = live ? k.outcome : m.outcome ?? k.outcome;
  const said = live ? "desk.tally.so_far" : "desk.tally.outcome";
  const line = t("desk.tally.line", { for: k.votes_for, against: k.votes_against, abstain: k.abstentions, cast: k.cast, electorate: k.electorate });
  return el("section", { className: `desk-section desk-tally${live ? " live" : ""}`, id: "desk-tally" }, [
    el("h4", { textContent: t(live ? "desk.tally.running" : "desk.tally.recorded") }),
    el("p", { className: "desk-tally-line", id: "desk-tally-line", textContent: line }),
    el("p", { className: "desk-quorum", textContent: t(k.quorate ? "desk.tally.quorate" : "desk.tally.not_quorate", { q: k.quorum }) }),
    el("p", { className: `desk-outcome ${outcome}`, id: "desk-outcome", textContent: t(said, { outcome: t(`desk.outcome.${outcome}`) }) }),
  ]);
}

function decisionSection(m) {
  const published = m.published_at
    ? t("desk.published", { at: fmtTime(m.published_at, { seconds: false }) })
    : t("desk.not_published");
  return el("section", { className: "desk-section", id: "desk-decision" }, [
    el("h4", { textContent: t("desk.decision") }),
    el("p", { className: "desk-decision-text", textContent: m.decision }),
    el("p", { className: "desk-hint", id: "desk-published", textContent: published }),
  ]);
}

function participantsSection(m) {
  const items = m.participants.map((p) => {
    const text = p.kind === "party" ? `${p.name} · ${t("desk.party")}` : `${addressName(p.ref)} · ${t("desk.invited")}`;
    return el("li", { className: `desk-participant ${p.kind}`, textContent: text });
  });
  const parts = [el("h4", { textContent: t("desk.participants") }), list("desk-participants", items)];
  if (runsMatter(m) && (m.status === "draft" || m.status === "open")) {
    parts.push(view.form === "participants" ? participantsForm(m) : opener("participants", "desk.add_participant"));
  }
  return el("section", { className: "desk-section" }, parts);
}

function opinionsSection(m) {
  const items = m.opinions.map((o) => {
    const about = o.agenda_item ? ` · ${t("desk.on_item", { n: o.agenda_item })}` : "";
    return el("li", { className: `desk-opinion ${o.author_kind}` }, [
      el("span", { className: "desk-author", textContent: `${author(o)}${about} · ${fmtTime(o.at, { seconds: false })}` }),
      el("p", { className: "desk-body", textContent: o.body }),
    ]);
  });
  const parts = [el("h4", { textContent: t("desk.opinions") }), list("desk-opinions", items)];
  if (runsMatter(m) && m.status === "open") parts.push(view.form === "opinion" ? opinionForm(m) : opener("opinion", "desk.record_opinion"));
  return el("section", { className: "desk-section" }, parts);
}

function author(o) {
  if (o.author_kind === "party") return o.author_name ?? o.author;
  if (o.author) return addressName(o.author);
  return t("desk.household_of", { building: buildingName(o.building) }); // outside the grids
}

function partyVoteSection(m) {
  const parts = [el("h4", { textContent: t("desk.party_vote") })];
  parts.push(view.form === "vote" ? partyVoteForm(m) : opener("vote", "desk.record_vote"));
  return el("section", { className: "desk-section" }, parts);
}

function casesSection(m) {
  const links = m.cases.map((id) => {
    const b = button(`desk-case-${id}`, `#${id}`, () => ctx.openCase?.(id));
    b.className = "desk-case";
    return b;
  });
  const shown = links.length
    ? el("div", { className: "desk-cases", id: "desk-cases" }, links)
    : el("p", { className: "desk-empty", id: "desk-cases", textContent: t("desk.no_cases") });
  const parts = [el("h4", { textContent: t("desk.cases") }), shown];
  if (runsMatter(m)) parts.push(view.form === "case" ? caseForm(m) : opener("case", "desk.link_case"));
  return el("section", { className: "desk-section" }, parts);
}

// --- the forms --------------------------------------------------------------------------

function openForm(name) {
  view.form = name;
  view.stepError = null;
  draw();
}

function opener(name, key) {
  return button(`desk-open-${name}`, t(key), () => openForm(name));
}

function newForm() {
  const title = input("desk-title", { maxLength: 200, required: true });
  const description = textarea("desk-description", 3);
  const agenda = textarea("desk-agenda", 3, t("desk.agenda_hint"));
  const scope = radios("desk-scope", SCOPES.map((s) => [s, t(`desk.scope.${s}`)]), ctx.user.role === "grid_worker" ? "buildings" : "compound");
  const buildings = checkboxes("desk-buildings", view.buildings.map((b) => [b, buildingName(b)]));
  const flats = input("desk-flats", { placeholder: t("desk.flats_hint") });
  const quorum = input("desk-quorum", { value: "2/3", required: true });
  const parties = checkboxes("desk-parties", view.parties.map((p) => [p.id, p.name]));
  const partiesVote = checkbox("desk-organisations-vote", t("desk.parties_vote"));
  const changeable = checkbox("desk-votes-changeable", t("desk.votes_changeable"));
  const [buildingsRow, flatsRow] = [field(t("desk.scope.buildings"), buildings.box), field(t("desk.scope.households"), flats)];
  const shown = () => {
    buildingsRow.hidden = scope.value() !== "buildings";
    flatsRow.hidden = scope.value() !== "households";
  };
  scope.box.addEventListener("change", shown);
  shown();
  const error = errorLine("desk-new-error");
  const form = el("form", { className: "desk-form", id: "desk-new-form" }, [
    el("h4", { textContent: t("desk.new") }),
    field(t("desk.title"), title),
    field(t("desk.description"), description),
    field(t("desk.agenda"), agenda),
    field(t("desk.scope"), scope.box),
    buildingsRow,
    flatsRow,
    field(t("desk.quorum"), quorum, t("desk.quorum_hint")),
    field(t("desk.participants"), parties.box),
    partiesVote.label,
    changeable.label,
    actions("desk-new-submit", "desk.convene"),
    error,
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = scope.value();
    const body = {
      compound: view.compound,
      title: title.value.trim(),
      description: description.value.trim(),
      agenda: lines(agenda.value),
      buildings: chosen === "buildings" ? buildings.values() : [],
      flats: chosen === "households" ? words(flats.value) : [],
      quorum: quorum.value.trim(),
      parties: parties.values(),
      organisations_vote: partiesVote.box.checked,
      votes_changeable: changeable.box.checked,
    };
    const missing = [
      [!body.title, "desk.need.title"],
      [!body.description, "desk.need.description"],
      [chosen === "buildings" && !body.buildings.length, "desk.need.buildings"],
      [chosen === "households" && !body.flats.length, "desk.need.flats"],
    ].find(([lacking]) => lacking)?.[1];
    if (missing) {
      error.textContent = t(missing);
      return;
    }
    const made = await send("/deliberations", body, error, "desk.done.new");
    if (!made) return;
    Object.assign(view, { matter: made, filter: "" });
    await refresh({ force: true });
  });
  return form;
}

function closeForm(m) {
  const decision = textarea("desk-decision", 3);
  const error = errorLine("desk-close-error");
  const form = el("form", { className: "desk-form", id: "desk-close-form" }, [
    field(t("desk.decision"), decision, t("desk.decision_hint")),
    actions("desk-close-submit", "desk.step.close_submit"),
    error,
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!decision.value.trim()) {
      error.textContent = t("desk.need.decision");
      return;
    }
    step(m, "close", { decision: decision.value.trim() });
  });
  return form;
}

function participantsForm(m) {
  const listed = new Set(m.participants.filter((p) => p.kind === "party").map((p) => p.ref));
  const party = select("desk-participant-party", [["", "—"], ...view.parties.filter((p) => !listed.has(p.id)).map((p) => [p.id, p.name])], "", () => {});
  const flat = input("desk-participant-flat", { placeholder: t("desk.flat_hint") });
  const error = errorLine("desk-participants-error");
  const form = el("form", { className: "desk-form", id: "desk-participants-form" }, [
    field(t("desk.party"), party),
    field(t("desk.invite_household"), flat),
    actions("desk-participants-submit", "desk.add"),
    error,
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { parties: party.value ? [party.value] : [], flats: words(flat.value) };
    if (!body.parties.length && !body.flats.length) {
      error.textContent = t("desk.need.participant");
      return;
    }
    const done = await send(`${matterPath(m)}/participants`, body, error, "desk.done.participants");
    if (done) await settle(done);
  });
  return form;
}

function opinionForm(m) {
  const parties = m.participants.filter((p) => p.kind === "party");
  const authors = [...parties.map((p) => [`party:${p.ref}`, p.name]), ["household", t("desk.a_household")]];
  const who = select("desk-opinion-author", authors, authors[0][0], () => shown());
  const flat = input("desk-opinion-flat", { placeholder: t("desk.flat_hint") });
  const flatRow = field(t("desk.household"), flat);
  const shown = () => {
    flatRow.hidden = who.value !== "household";
  };
  shown();
  const item = select("desk-opinion-item", [["", t("desk.whole_matter")], ...m.agenda.map((a, i) => [String(i + 1), `${i + 1}. ${a}`])], "", () => {});
  const body = textarea("desk-opinion-body", 3);
  const error = errorLine("desk-opinion-error");
  const form = el("form", { className: "desk-form", id: "desk-opinion-form" }, [
    field(t("desk.on_behalf_of"), who),
    flatRow,
    field(t("desk.agenda_item"), item),
    field(t("desk.opinion"), body),
    actions("desk-opinion-submit", "desk.save"),
    error,
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = { body: body.value.trim() };
    if (who.value === "household") payload.household = flat.value.trim();
    else payload.party = who.value.slice("party:".length);
    if (item.value) payload.agenda_item = Number(item.value);
    if (!payload.body || payload.household === "") {
      error.textContent = t(payload.body ? "desk.need.household" : "desk.need.opinion");
      return;
    }
    if (await send(`${matterPath(m)}/opinions`, payload, error, "desk.done.opinion")) await refresh({ force: true });
  });
  return form;
}

function partyVoteForm(m) {
  const parties = m.participants.filter((p) => p.kind === "party");
  const party = select("desk-vote-party", parties.map((p) => [p.ref, p.name]), parties[0]?.ref ?? "", () => {});
  const choice = select("desk-vote-choice", CHOICES.map((c) => [c, t(`desk.choice.${c}`)]), "for", () => {});
  const error = errorLine("desk-vote-error");
  const form = el("form", { className: "desk-form", id: "desk-vote-form" }, [
    field(t("desk.party"), party),
    field(t("desk.choice"), choice),
    actions("desk-vote-submit", "desk.save"),
    error,
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await send(`${matterPath(m)}/votes`, { party: party.value, choice: choice.value }, error, "desk.done.vote");
    if (done) await settle(done.deliberation);
  });
  return form;
}

function caseForm(m) {
  const id = input("desk-case-id", { type: "number", min: 1, required: true });
  const error = errorLine("desk-case-error");
  const form = el("form", { className: "desk-form", id: "desk-case-form" }, [field(t("desk.case_number"), id), actions("desk-case-submit", "desk.link"), error]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await send(`${matterPath(m)}/cases/${Number(id.value)}`, undefined, error, "desk.done.case", "PUT");
    if (done) await settle(done);
  });
  return form;
}

async function settle(matter) {
  view.matter = matter;
  await refresh({ force: true });
}

// --- why the API refused, in the user's language ----------------------------------------

// The API's reasons the desk knows (deliberation's and the routes' words), each to its
// sentence; any other reason is shown as the API gave it.
const REASONS = [
  [/quorum: a share of the electorate, between 0 and 1/, "quorum_range"],
  [/quorum: (not a fraction|at most three digits)/, "quorum_format"],
  [/no party '([^']+)' serves/, "party", (m) => ({ party: m[1] })],
  [/buildings: not in [^:]+: (.+)$/, "buildings", (m) => ({ list: m[1] })],
  [/no such household: (.+)$/, "households", (m) => ({ list: m[1] })],
  [/a matter of the whole compound is an admin's/, "whole_compound"],
  [/outside your grids: (.+)$/, "outside_grids", (m) => ({ list: m[1] })],
  [/compound '[^']+' is outside your grids/, "compound_outside"],
  [/an archived matter is read-only/, "archived"],
  [/is (\w+): only a matter that is (\w+) becomes/, "step", (m) => ({ now: t(`desk.state.${m[1]}`), was: t(`desk.state.${m[2]}`) })],
  [/is (\w+): voting closes only while it is open/, "close_not_voting", (m) => ({ now: t(`desk.state.${m[1]}`) })],
  [/a decision is published once it is recorded/, "publish_not_decided"],
  [/its decision is published already/, "published_already"],
  [/publish the decision to the households first/, "publish_first"],
  [/is (\w+): participants are added while it is prepared or open/, "participants_stage", (m) => ({ now: t(`desk.state.${m[1]}`) })],
  [/is (\w+): opinions are collected while it is open/, "opinion_stage", (m) => ({ now: t(`desk.state.${m[1]}`) })],
  [/is (\w+): votes are taken while voting is open/, "vote_stage", (m) => ({ now: t(`desk.state.${m[1]}`) })],
  [/(\S+) has voted already/, "voted_already", (m) => ({ who: m[1] })],
  [/not a participant of deliberation/, "not_participant"],
  [/on this matter only the affected households vote/, "parties_no_vote"],
  [/household (\S+): neither affected by nor invited/, "not_invited", (m) => ({ flat: addressName(m[1]) })],
  [/case (\d+) is not a case of/, "case_elsewhere", (m) => ({ id: m[1] })],
  [/case (\d+) does not exist/, "no_case", (m) => ({ id: m[1] })],
  [/the agenda has (\d+) items/, "agenda_item", (m) => ({ n: m[1] })],
  [/deliberation \d+ does not exist/, "no_matter"],
  [/^role \w+ may not/, "role"],
  [/^(\w+): must not be empty/, "empty", (m) => ({ field: fieldName(m[1]) })],
  [/^(\w+): at most (\d+)/, "too_long", (m) => ({ field: fieldName(m[1]), n: m[2] })],
];

function reason(err) {
  const detail = err?.detail ?? err?.message ?? "";
  if (Array.isArray(detail)) return detail.map(invalidField).join("; "); // FastAPI's 422
  if (err?.status === 503) return t("desk.why.unavailable");
  for (const [pattern, key, vars] of REASONS) {
    const m = pattern.exec(detail);
    if (m) return t(`desk.why.${key}`, vars ? vars(m) : undefined);
  }
  return String(detail);
}

function invalidField(e) {
  const name = e.loc?.[e.loc.length - 1];
  if (name === "quorum") return t("desk.why.quorum_format");
  if (name === "household" || e.loc?.includes("flats")) return t("desk.why.flat_format");
  return t("desk.why.field", { field: fieldName(name) });
}

function fieldName(name) {
  const key = {
    title: "desk.title",
    description: "desk.description",
    agenda: "desk.agenda",
    decision: "desk.decision",
    body: "desk.opinion",
    quorum: "desk.quorum",
  }[name];
  return key ? t(key) : String(name ?? "");
}

// --- small helpers ----------------------------------------------------------------------

function scopeText(m) {
  if (m.scope === "buildings") return t("desk.scope.buildings_list", { list: m.buildings.map(buildingName).join(t("desk.list_sep")) });
  if (m.scope === "households") return t("desk.scope.households_list", { list: m.flats.map(addressName).join(t("desk.list_sep")) });
  return t("desk.scope.compound");
}

function stateBadge(status) {
  return el("span", { className: `desk-state ${status}`, textContent: t(`desk.state.${status}`) });
}

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function words(text) {
  return text.split(/[\s,，、;；]+/).filter(Boolean);
}

function list(id, items) {
  return items.length ? el("ul", { className: "desk-items", id }, items) : el("p", { className: "desk-empty", id, textContent: t("desk.none") });
}

function field(label, control, hint) {
  const parts = [el("span", { textContent: label }), control];
  if (hint) parts.push(el("small", { className: "desk-hint", textContent: hint }));
  return el("label", { className: "desk-field" }, parts);
}

function actions(id, key) {
  const cancel = button(`${id}-cancel`, t("desk.cancel"), () => {
    view.form = null;
    draw();
  });
  return el("div", { className: "desk-actions" }, [el("button", { type: "submit", id, textContent: t(key) }), cancel]);
}

function errorLine(id) {
  return el("p", { className: "error", id, role: "alert" });
}

function input(id, props = {}) {
  return el("input", { id, ...props });
}

function textarea(id, rows, placeholder = "") {
  return el("textarea", { id, rows, placeholder, maxLength: 4000 });
}

function select(id, options, value, onChange) {
  const s = el("select", { id }, options.map(([v, label]) => el("option", { value: v, textContent: label })));
  s.value = value;
  s.addEventListener("change", () => onChange(s.value));
  return s;
}

function radios(name, options, value) {
  const box = el("div", { className: "desk-choices", id: name }, options.map(([v, label]) =>
    el("label", {}, [el("input", { type: "radio", name, value: v, checked: v === value }), el("span", { textContent: label })]),
  ));
  return { box, value: () => box.querySelector("input:checked")?.value ?? value };
}

function checkboxes(id, options) {
  const box = el("div", { className: "desk-choices", id }, options.map(([v, label]) =>
    el("label", {}, [el("input", { type: "checkbox", value: v }), el("span", { textContent: label })]),
  ));
  if (!options.length) box.append(el("span", { className: "desk-hint", textContent: t("desk.none") }));
  return { box, values: () => [...box.querySelectorAll("input:checked")].map((i) => i.value) };
}

function checkbox(id, label) {
  const box = el("input", { type: "checkbox", id });
  return { box, label: el("label", { className: "desk-check" }, [box, el("span", { textContent: label })]) };
}

function button(id, text, onClick) {
  const b = el("button", { type: "button", id, textContent: text });
  b.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick(event);
  });
  return b;
}

function cell(text) {
  return el("td", { textContent: text });
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
