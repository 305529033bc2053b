// Calls to the REST API from pages: the session cookie travels by itself; the CSRF header
// repeats the readable st_csrf cookie (the server checks both). The token is never visible here.

export const T = JSON.parse(document.getElementById("strings").textContent);

export class ApiError extends Error {
  constructor(status, body) {
    super(body.detail || body.code || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.code = body.code || "generic";
  }
}

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)st_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export async function api(path, { method = "GET", json, form } = {}) {
  const headers = {
    "X-CSRF-Token": csrfToken(),
    "Accept": "application/json",
    "Accept-Language": T.lang === "zh" ? "zh-CN" : "en",
  };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, { code: "network" });
  }
  let data = {};
  try {
    data = await res.json();
  } catch {
    data = {};
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** An error in words the learner can act on (the API's own message for its code). */
export function explain(err) {
  if (!(err instanceof ApiError)) return T.ui.generic;
  if (err.code === "network") return T.ui.network;
  let text = T.errors[err.code] || err.body.detail || T.ui.generic;
  const reason = err.body.reason_code;
  if (reason && reason !== err.code) {
    const why = T.errors[reason] || T.reasons[reason];
    if (why) text += " " + T.ui.reason_prefix + why;
  }
  return text;
}

export function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
}

export function minutesSeconds(total) {
  const s = Math.max(0, Math.floor(total));
  return fmt(T.ui.minutes_seconds, { m: Math.floor(s / 60), s: s % 60 });
}
