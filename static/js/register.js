// Inline check of the resident ID number (GB 11643-1999, ISO 7064 MOD 11-2 check character).
// The server stays the authority; this only saves a round trip for typing mistakes.
import { T } from "./api.js";

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

/** The number as the server reads it: full-width digits and Ｘ folded (NFKC), spaces dropped. */
export function normalised(raw) {
  return raw.normalize("NFKC").replace(/\s+/g, "").toUpperCase();
}

export function idProblem(raw) {
  const v = normalised(raw);
  if (!/^[1-9]\d{5}\d{8}\d{3}[\dX]$/.test(v)) return "id_format";
  const y = +v.slice(6, 10), m = +v.slice(10, 12), d = +v.slice(12, 14);
  const birth = new Date(Date.UTC(y, m - 1, d));
  const ok = birth.getUTCFullYear() === y && birth.getUTCMonth() === m - 1 && birth.getUTCDate() === d;
  if (!ok || y < 1900 || birth > new Date()) return "id_birth";
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += +v[i] * WEIGHTS[i];
  if (CHECK[sum % 11] !== v[17]) return "id_check";
  return null;
}

const input = document.getElementById("id_number");
const hint = document.getElementById("id_hint");
const form = document.getElementById("register-form");
const idleHint = hint.textContent;
// The refusal of the last submission (e.g. "this ID number is already registered"), if any.
const serverError = document.querySelector("#register-error");

function show(final) {
  const v = normalised(input.value);
  if (!v || (!final && v.length < 18)) {
    hint.textContent = idleHint;
    hint.dataset.kind = "";
    input.removeAttribute("aria-invalid");
    return true;
  }
  const problem = idProblem(v);
  hint.textContent = problem ? T.ui[problem] : T.ui.id_ok;
  hint.dataset.kind = problem ? "error" : "ok";
  if (problem) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return !problem;
}

input.addEventListener("input", () => {
  // Once the number is edited, the refusal of the previous submission no longer applies to it.
  if (serverError && serverError.dataset.field === "id_number") serverError.hidden = true;
  show(false);
});
input.addEventListener("blur", () => show(true));
// Likewise a refusal about the institution, once another is picked or a code typed.
for (const el of [document.getElementById("institution"), document.getElementById("institution_code")]) {
  el?.addEventListener("input", () => {
    if (serverError && serverError.dataset.field === "institution") serverError.hidden = true;
  });
}
form.addEventListener("submit", (e) => {
  if (!show(true)) {
    e.preventDefault();
    input.focus();
  }
});
