// The case pane's handling forms and the phone-call intake form (issue 19). Each handling
// transition the case allows that needs more than a click (record an action, a joint
// consultation with its participants and decision, rate on behalf of a caller, cancel,
// re-dispatch, transfer, assign, claim, add a party, merge; take over for an upper
// rung's account, issue 20) gets a button that opens its form; a form posts to `POST /cases/{id}/<transition>` with the version the pane showed
// and, when the API refuses, shows the API's reason in the form itself. The party and
// staff lists come from the registry when a form opens (`/parties`, `/staff` of the
// case's compound). `ctx` is app.js's: `api`, `toast` and `after(caseId)` (the board and
// the pane re-read).

import { getLang, refusal, t } from "./i18n.js";

const FORMS = ["record-action", "rate", "cancel", "redispatch", "transfer", "assign", "claim", "add-party", "merge"];
const MODES = ["desk_reception", "home_visit", "on_site_emergency", "joint_consultation", "follow_up_visit"];
const JOINT = "joint_consultation";
const RATINGS = [5, 4, 3, 2, 1]; // the reporter's 1-5, best first as a caller says it
const CANCEL_REASONS = ["not_responsible", "duplicate"]; // cases.CancelReason
const REGISTRY_PAGE = 100; // parties and staff of one compound: a few dozen at most

// --- the case pane ----------------------------------------------------------------------

// The row of form buttons for what the case allows, and the place its open form goes.
export function caseForms(c, ctx) {
  const allowed = FORMS.filter((a) => c.allowed_actions.includes(a));
  // An upper rung's account (a committee's, an office's) takes a case it may re-dispatch.
  if (ctx.mayTakeOver?.() && c.allowed_actions.includes("redispatch")) allowed.push("take-over");
  const slot = el("div", { className: "case-form-slot" });
  const buttons = allowed.map((action) => {
    const b = el("button", { type: "button", className: `open-${action}`, textContent: t(`form.${action}`) });
    b.dataset.form = action;
    b.addEventListener("click", () => openForm(c, action, slot, ctx));
    return b;
  });
  return el("div", { className: "case-forms" }, [el("div", { className: "actions" }, buttons), slot]);
}

async function openForm(c, action, slot, ctx) {
  const lists = await registryLists(c.compound, ctx.api, action);
  const build = BUILDERS[action];
  const { fields, body } = build(c, lists);
  const error = el("p", { className: "error", role: "alert" });
  const submit = el("button", { type: "submit", className: "submit", textContent: t(`form.${action}.submit`) });
  const form = el("form", { className: "case-form" }, [
    el("h4", { textContent: t(`form.${action}`) }),
    ...fields,
    el("div", { className: "actions" }, [submit]),
    error,
  ]);
  form.dataset.action = action;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = body();
    if (typeof payload === "string") {
      error.textContent = t(payload); // a field the form can tell is missing
      return;
    }
    submit.disabled = true;
    try {
      await ctx.api(`/cases/${c.id}/${action}`, { method: "POST", body: { version: c.version, ...payload } });
    } catch (err) {
      submit.disabled = false;
      // Only a version conflict is "someone acted first"; another 409 says its own reason.
      const stale = err.status === 409 && (!err.code || err.code === "case.version_conflict");
      error.textContent = stale ? t("stale") : `${t("form.refused")}: ${refusal(err)}`;
      return;
    }
    ctx.toast(`#${c.id} ${t(`form.${action}`)}: ${t("done")}`);
    await ctx.after(c.id);
  });
  slot.replaceChildren(form);
}

async function registryLists(compound, api, action) {
  const q = `compound=${encodeURIComponent(compound)}&limit=${REGISTRY_PAGE}`;
  const wantsParties = ["record-action", "redispatch", "transfer", "add-party"].includes(action);
  const [parties, staff] = await Promise.all([
    wantsParties ? api(`/parties?${q}`).then((p) => p.data) : [],
    action === "assign" ? api(`/staff?${q}`).then((p) => p.data) : [],
  ]);
  return { parties, staff };
}

// Each builder: the form's fields, and `body()` returning the request body or the i18n
// key of what is missing.
const BUILDERS = {
  "record-action": (c, { parties }) => {
    const mode = select(MODES.map((m) => [m, t(`mode.${m}`)]), "mode");
    const note = textarea("note", t("form.what_was_done"));
    const participants = checkboxes(parties.map(partyOption), "participants");
    const decision = textarea("decision", t("form.decision"));
    const joint = el("div", { className: "joint" }, [
      label(t("form.participants"), participants.box),
      label(t("form.decision"), decision),
    ]);
    const toggle = () => {
      joint.hidden = mode.value !== JOINT;
    };
    mode.addEventListener("change", toggle);
    toggle();
    return {
      fields: [label(t("mode"), mode), label(t("form.what_was_done"), note), joint],
      body: () => {
        if (!note.value.trim()) return "form.need.note";
        if (mode.value !== JOINT) return { mode: mode.value, note: note.value.trim() };
        if (participants.values().length < 2) return "form.need.participants";
        if (!decision.value.trim()) return "form.need.decision";
        return { mode: JOINT, note: note.value.trim(), participants: participants.values(), decision: decision.value.trim() };
      },
    };
  },
  // Staff rate only as taken in a phone call with the reporter: always `by_phone`.
  rate: () => {
    const rating = select(RATINGS.map((n) => [String(n), t("form.stars", { n })]), "rating");
    const comment = textarea("comment", t("form.comment"));
    return {
      fields: [
        el("p", { className: "hint", textContent: t("form.rate.by_phone") }),
        label(t("form.rating"), rating),
        label(t("form.comment"), comment),
      ],
      body: () => ({ rating: Number(rating.value), comment: comment.value.trim() || null, by_phone: true }),
    };
  },
  cancel: () => {
    const reason = select(CANCEL_REASONS.map((r) => [r, t(`cancel.${r}`)]), "reason");
    const note = textarea("note", t("note_text"));
    const original = el("input", { name: "duplicate_of", type: "number", min: 1 });
    const originalRow = label(t("form.duplicate_of"), original);
    const toggle = () => {
      originalRow.hidden = reason.value !== "duplicate";
    };
    reason.addEventListener("change", toggle);
    toggle();
    return {
      fields: [label(t("form.cancel_reason"), reason), label(t("note_text"), note), originalRow],
      body: () => {
        if (!note.value.trim()) return "form.need.note";
        const body = { reason: reason.value, note: note.value.trim() };
        if (reason.value === "duplicate" && original.value) body.duplicate_of = Number(original.value);
        return body;
      },
    };
  },
  redispatch: (c, { parties }) => {
    const chosen = checkboxes(parties.map(partyOption), "parties");
    const reason = textarea("reason", t("form.reason"));
    return {
      fields: [label(t("form.new_parties"), chosen.box), label(t("form.reason"), reason)],
      body: () => {
        if (!chosen.values().length) return "form.need.party";
        if (!reason.value.trim()) return "form.need.reason";
        return { parties: chosen.values(), reason: reason.value.trim() };
      },
    };
  },
  transfer: (c, { parties }) => {
    const party = select(parties.map(partyOption), "party");
    const reason = textarea("reason", t("form.reason"));
    const fields = [];
    let from = null;
    if (c.assignments.length > 1) {
      from = select(c.assignments.map((a) => [a.party_kind, partyKindName(a.party_kind)]), "from_kind");
      fields.push(label(t("form.from_party"), from));
    }
    fields.push(label(t("form.to_party"), party), label(t("form.reason"), reason));
    return {
      fields,
      body: () => {
        if (!party.value) return "form.need.party";
        if (!reason.value.trim()) return "form.need.reason";
        const body = { party: party.value, reason: reason.value.trim() };
        if (from) body.from_kind = from.value;
        return body;
      },
    };
  },
  assign: (c, { staff }) => {
    const who = select(staff.map((s) => [s.id, `${s.name} · ${roleWord(s.role)}`]), "staff_id");
    return {
      fields: [label(t("form.staff_member"), who)],
      body: () => (who.value ? { staff_id: who.value } : "form.need.staff"),
    };
  },
  claim: () => ({
    fields: [el("p", { className: "hint", textContent: t("form.claim.hint") })],
    body: () => ({}),
  }),
  "take-over": () => {
    const reason = textarea("reason", t("form.reason"));
    return {
      fields: [el("p", { className: "hint", textContent: t("form.take-over.hint") }), label(t("form.reason"), reason)],
      body: () => (reason.value.trim() ? { reason: reason.value.trim() } : "form.need.reason"),
    };
  },
  "add-party": (c, { parties }) => {
    const party = select(parties.map(partyOption), "party");
    const note = textarea("note", t("note_text"));
    return {
      fields: [label(t("form.co_party"), party), label(t("note_text"), note)],
      body: () => (party.value ? { party: party.value, note: note.value.trim() || null } : "form.need.party"),
    };
  },
  merge: () => {
    const into = el("input", { name: "into", type: "number", min: 1 });
    const note = textarea("note", t("note_text"));
    return {
      fields: [label(t("form.merge_into"), into), label(t("note_text"), note)],
      body: () => {
        if (!Number(into.value)) return "form.need.case";
        if (!note.value.trim()) return "form.need.note";
        return { into: Number(into.value), note: note.value.trim() };
      },
    };
  },
};

// --- the phone-call intake ----------------------------------------------------------------

// A new case from a phone call: compound, category (the policy's), location, what the
// caller said and their call-back number; posted with `channel: "phone"`.
export async function intakeForm(ctx) {
  const [compounds, categories] = await Promise.all([
    ctx.api(`/compounds?limit=${REGISTRY_PAGE}`).then((p) => p.data),
    ctx.api("/cases/categories").then((p) => p.data),
  ]);
  const compound = select(compounds.map((c) => [c.id, c.name ? `${c.name} · ${c.id}` : c.id]), "compound");
  const category = select(categories.map((c) => [c.id, c.title[getLang()] ?? c.title.en ?? c.id]), "category");
  const location = el("input", { name: "location", placeholder: t("intake.location_hint") });
  const description = textarea("description", t("intake.description"));
  const callback = el("input", { name: "callback", type: "tel", placeholder: t("intake.callback_hint") });
  const error = el("p", { className: "error", role: "alert" });
  const submit = el("button", { type: "submit", className: "submit", textContent: t("intake.submit") });
  const form = el("form", { className: "case-form intake" }, [
    el("h3", { textContent: t("intake.title") }),
    label(t("intake.compound"), compound),
    label(t("intake.category"), category),
    label(t("location"), location),
    label(t("intake.description"), description),
    label(t("intake.callback"), callback),
    el("div", { className: "actions" }, [submit]),
    error,
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!description.value.trim()) {
      error.textContent = t("form.need.description");
      return;
    }
    const body = {
      compound: compound.value,
      category: category.value,
      description: description.value.trim(),
      channel: "phone",
    };
    if (location.value.trim()) body.location = location.value.trim();
    if (callback.value.trim()) body.callback = callback.value.trim();
    submit.disabled = true;
    let made;
    try {
      made = await ctx.api("/cases", { method: "POST", body });
    } catch (err) {
      submit.disabled = false;
      error.textContent = `${t("form.refused")}: ${refusal(err)}`;
      return;
    }
    ctx.toast(`#${made.id} ${t("intake.done")}`);
    await ctx.after(made.id);
  });
  return form;
}

// --- small helpers ----------------------------------------------------------------------

function partyOption(p) {
  return [p.id, `${partyKindName(p.kind)} · ${p.name}`];
}

function partyKindName(kind) {
  const key = `party.${kind}`;
  const word = t(key);
  return word === key ? kind : word;
}

function roleWord(role) {
  const key = `role.${role}`;
  const word = t(key);
  return word === key ? role : word;
}

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function label(text, control) {
  return el("label", { className: "field" }, [el("span", { textContent: text }), control]);
}

function select(options, name) {
  return el(
    "select",
    { name },
    options.map(([value, text]) => el("option", { value, textContent: text })),
  );
}

function textarea(name, placeholder) {
  return el("textarea", { name, rows: 2, placeholder });
}

// A checkbox per option; `values()` the checked ones, in the list's order.
function checkboxes(options, name) {
  const inputs = options.map(([value]) => el("input", { type: "checkbox", name, value }));
  const box = el(
    "div",
    { className: "choices" },
    options.map(([, text], i) => el("label", { className: "choice" }, [inputs[i], el("span", { textContent: text })])),
  );
  return { box, values: () => inputs.filter((i) => i.checked).map((i) => i.value) };
}
