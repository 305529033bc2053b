// The check-in station of an offline session, on a staff tablet or phone at the site. A
// learner's QR (read by a handheld scanner that types it, pasted, or read from this camera with
// the browser's BarcodeDetector) opens a streamed face check of that learner which only this
// station may feed; the same camera then streams the learner's face through the server-paced
// check (static/js/facecheck.js) and the station submits it: check-in the first time, check-out
// the second. A check that does not pass needs a fresh QR (each QR is good for one scan).

import { api, ApiError, explain, fmt, T } from "./api.js";
import { FaceCheck } from "./facecheck.js";

const root = document.getElementById("station");
const sid = root.dataset.session;
const form = document.getElementById("scan-form");
const input = document.getElementById("scan-token");
const cameraButton = document.getElementById("scan-camera");
const state = document.getElementById("station-state");
const panel = document.getElementById("station-check");
let current = null;

function say(text, kind = "") {
  state.textContent = text;
  state.dataset.kind = kind;
  state.className = kind ? `status ${kind}` : "status";
}

const check = new FaceCheck(panel, {
  handoff: false,
  uploader: {
    // The check was opened by the scan: its URLs came with it.
    challenge: async () => {
      if (!current) throw new ApiError(409, { code: "offline_token_used" });
      const c = current;
      current = null; // one QR, one check
      return c;
    },
    frame: (url, data) => api(url, { method: "POST", form: data }),
    send: () => api(check.url, { method: "POST" }),
  },
});
check.button.hidden = true;

async function scan(token) {
  token = (token || "").trim();
  if (!token || check.busy) return;
  input.value = "";
  say(T.ui.station_scanning);
  let opened;
  try {
    opened = await api(`/api/v1/offline-sessions/${sid}/station/checks`, { method: "POST", json: { token } });
  } catch (err) {
    say(explain(err), "error");
    root.dataset.result = err.code || "error";
    return;
  }
  current = { ...opened, mode: "streamed" };
  check.url = opened.decide_url;
  const words = opened.kind === "checkin" ? T.ui.station_checkin : T.ui.station_checkout;
  say(fmt(words, { name: opened.learner_name }));
  root.dataset.result = "running";
  try {
    const r = await check.run();
    const done = r.kind === "checkin"
      ? fmt(T.ui.station_checked_in, { name: r.learner_name })
      : fmt(T.ui.station_checked_out, { name: r.learner_name, minutes: r.credited_minutes, total: r.offline_minutes_total });
    say(done, "ok");
    root.dataset.result = r.kind;
  } catch (err) {
    say(`${explain(err)} ${T.ui.station_rescan}`, "error");
    root.dataset.result = err.code || "error";
  }
  input.focus();
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  scan(input.value);
});

// Reading the QR with this device's camera (Chrome on Android and ChromeOS; elsewhere a
// handheld scanner or pasting works the same).
let detecting = false;
cameraButton.addEventListener("click", async () => {
  if (!("BarcodeDetector" in window)) {
    say(T.ui.station_no_detector, "warn");
    return;
  }
  if (detecting || check.busy) return;
  detecting = true;
  say(T.ui.station_camera_scan);
  try {
    if (!(await check.preview())) return;
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    const ends = Date.now() + 60000;
    while (Date.now() < ends) {
      const codes = await detector.detect(check.video).catch(() => []);
      const found = codes.find((c) => (c.rawValue || "").startsWith("st1."));
      if (found) {
        detecting = false;
        await scan(found.rawValue);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    say(T.ui.station_no_qr, "warn");
  } finally {
    detecting = false;
  }
});
