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
  await verify(opened);
}

/** The check the scan opened: the learner faces this camera; the station decides it. */
async function verify(opened) {
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

// Reading the QR with this device's camera: the browser's BarcodeDetector where it has one
// (Chrome on Android and ChromeOS); elsewhere the camera's pictures go to the server, which
// reads the QR code with OpenCV. A handheld scanner or pasting works everywhere.
let detecting = false;

async function picture(video) {
  const canvas = document.createElement("canvas");
  const scale = Math.min(1, 1280 / Math.max(video.videoWidth, video.videoHeight));
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
}

/** Resolves with the opened check (server-side reading) or the token (BarcodeDetector). */
async function readQr(video) {
  const detector = "BarcodeDetector" in window ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  const ends = Date.now() + 60000;
  while (Date.now() < ends) {
    if (detector) {
      const codes = await detector.detect(video).catch(() => []);
      const found = codes.find((c) => (c.rawValue || "").startsWith("st1."));
      if (found) return { token: found.rawValue };
    } else {
      const blob = await picture(video);
      if (blob) {
        const data = new FormData();
        data.append("frame", blob, "phone.jpg");
        try {
          return { opened: await api(`/api/v1/offline-sessions/${sid}/station/qr-pictures`, { method: "POST", form: data }) };
        } catch (err) {
          if (err.code !== "offline_qr_not_found") throw err;
        }
      }
    }
    await new Promise((r) => setTimeout(r, detector ? 250 : 700));
  }
  return null;
}

cameraButton.addEventListener("click", async () => {
  if (detecting || check.busy) return;
  detecting = true;
  say(T.ui.station_camera_scan);
  try {
    if (!(await check.preview())) return;
    const got = await readQr(check.video);
    if (!got) {
      say(T.ui.station_no_qr, "warn");
    } else if (got.token) {
      detecting = false;
      await scan(got.token);
    } else {
      detecting = false;
      await verify(got.opened);
    }
  } catch (err) {
    say(`${explain(err)} ${T.ui.station_rescan}`, "error");
    root.dataset.result = err.code || "error";
  } finally {
    detecting = false;
  }
});
