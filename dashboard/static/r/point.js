// "A point on the plan" for a report: the compound's buildings drawn from
// GET /residents/me/plan, tapped where the problem is (a broken bench between two
// buildings, a lamp by the path); the tap is sent as `x,y` in the plan's frame (0..1,
// west to east and north to south). Large enough for a finger; a marker shows the tap.
const NS = "http://www.w3.org/2000/svg";
const WIDTH = 1000;
let chosen = null;
let loadedFor = null;

function svg(tag, attrs) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

export function pointValue() {
  return chosen ? `${chosen.x.toFixed(4)},${chosen.y.toFixed(4)}` : "";
}

export function resetPoint() {
  chosen = null;
  document.querySelector("#plan-pick .pin")?.remove();
}

export async function showPlan({ call, compound, t }) {
  const box = document.getElementById("plan-pick");
  box.hidden = false;
  if (loadedFor === compound) return;
  const query = compound ? `?compound=${encodeURIComponent(compound)}` : "";
  const plan = await call(`/me/plan${query}`);
  loadedFor = compound;
  const height = WIDTH / plan.aspect;
  const map = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": t("where_point") });
  map.append(svg("rect", { x: 0, y: 0, width: WIDTH, height, class: "ground" }));
  for (const b of plan.buildings) {
    map.append(svg("rect", { x: b.x * WIDTH, y: b.y * height, width: b.w * WIDTH, height: b.h * height, class: "building" }));
    const label = svg("text", { x: (b.x + b.w / 2) * WIDTH, y: (b.y + b.h / 2) * height, class: "label" });
    label.textContent = t("building_n", { n: b.id });
    map.append(label);
  }
  map.addEventListener("click", (e) => {
    const r = map.getBoundingClientRect();
    chosen = { x: Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), y: Math.min(1, Math.max(0, (e.clientY - r.top) / r.height)) };
    map.querySelector(".pin")?.remove();
    map.append(svg("circle", { cx: chosen.x * WIDTH, cy: chosen.y * height, r: 22, class: "pin" }));
    document.getElementById("plan-said").textContent = t("point_chosen");
  });
  box.querySelector("svg")?.remove();
  box.prepend(map);
  resetPoint();
}

export function hidePlan() {
  document.getElementById("plan-pick").hidden = true;
}
