// A resident's report in the case pane: its photos (fetched with the bearer token, shown
// as blob: images) and, for an anonymous report, the call-back number (the read is
// audited). Roles that may not work cases get nothing: the API answers 403.
import { t } from "./i18n.js";

const API = "/api/v1/residents/reports";

export function residentReport(caseId, token) {
  const box = document.createElement("div");
  box.className = "resident-report";
  fill(box, caseId, { Authorization: `Bearer ${token}` }).catch(() => box.replaceChildren());
  return box;
}

async function fill(box, caseId, headers) {
  const response = await fetch(`${API}/${caseId}`, { headers });
  if (!response.ok) return;
  const report = await response.json();
  const parts = [];
  if (report.callback) {
    const p = document.createElement("p");
    p.className = "callback";
    p.textContent = `${t("resident_callback")}: ${report.callback}`;
    parts.push(p);
  }
  for (let n = 1; n <= report.photos; n += 1) {
    const photo = await fetch(`${API}/${caseId}/photos/${n}`, { headers });
    if (!photo.ok) continue;
    const img = document.createElement("img");
    img.className = "resident-photo";
    img.alt = `${t("resident_photo")} ${n}`;
    img.src = URL.createObjectURL(await photo.blob());
    parts.push(img);
  }
  box.replaceChildren(...parts);
}
