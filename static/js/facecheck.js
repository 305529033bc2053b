// One face check: camera preview and a server-paced, streamed check. The page opens a check
// session, then sends the camera's frames one at a time (about 12 a second, each after the
// previous answer): the server stamps their arrival and, at moments only it knows, answers with
// an action ("blink", "turn left", ...) which the page shows the moment it arrives; when the
// server says the check is complete the page submits it to the operation (enrolment, check-in,
// roll-call, quiz) without frames. Where the check comes from and goes is the check's
// "uploader": the signed-in learner's API on the computer, or a hand-off's code on a phone.
// Without a camera, the computer's panel hands the check over to a phone (QR code + link) and
// resolves when the phone passes.

import { api, ApiError, explain, fmt, minutesSeconds, T } from "./api.js";

const FPS = 12;
// A streamed check lasts ~5-14 s; give up (and let the learner retry) well after that.
const STREAM_LIMIT_MS = 60000;
let stream = null;

async function camera() {
  if (stream && stream.getVideoTracks().some((t) => t.readyState === "live")) return stream;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error("no camera"), { name: "NotFoundError" });
  }
  stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
  });
  return stream;
}

/** Camera refused or absent: the cases a phone can stand in for. */
function noCamera(err) {
  return Boolean(err) && ["NotAllowedError", "SecurityError", "NotFoundError", "OverconstrainedError"].includes(err.name);
}

function cameraMessage(err) {
  if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) return T.ui.camera_denied;
  if (err && (err.name === "NotFoundError" || err.name === "OverconstrainedError")) return T.ui.camera_missing;
  return T.ui.camera_error;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function toBlob(canvas) {
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

async function digest(blob) {
  if (!crypto.subtle) return `${blob.size}`;
  const buf = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Words for a revealed action, with its place among the check's actions. */
function actionInWords(ack) {
  const words = T.ui[ack.action] || ack.action;
  return ack.steps > 1 ? `${words} ${fmt(T.ui.action_step, { n: ack.step, total: ack.steps })}` : words;
}

/** The signed-in learner's own API: a challenge for the learner, frames to the check's URL. */
export function learnerUploader(check) {
  return {
    challenge: () => api("/api/v1/me/face/challenge", { method: "POST" }),
    frame: (url, form) => api(url, { method: "POST", form }),
    send: (form) => api(check.url, { method: "POST", form }),
  };
}

/** A phone without sign-in: the hand-off's code authorises exactly this one check. */
export function handoffUploader(code) {
  const base = `/api/v1/handoffs/${encodeURIComponent(code)}`;
  return {
    challenge: () => api(`${base}/challenge`, { method: "POST" }),
    frame: (url, form) => api(url, { method: "POST", form }),
    send: (form) => api(`${base}/frames`, { method: "POST", form }),
  };
}

/** Which pending check a panel's URL stands for, as the hand-off API names it. */
export function handoffTarget(url) {
  const path = (url || "").split("?")[0];
  let m;
  if (/\/api\/v1\/me\/face\/enrol$/.test(path)) return { purpose: "enrol" };
  if ((m = path.match(/\/api\/v1\/enrollments\/([^/]+)\/sessions$/))) return { purpose: "checkin", enrollment_id: m[1] };
  if ((m = path.match(/\/api\/v1\/enrollments\/([^/]+)\/quiz-attempts$/))) return { purpose: "quiz", enrollment_id: m[1] };
  if ((m = path.match(/\/api\/v1\/rollcalls\/([^/]+)\/response$/))) return { purpose: "rollcall", rollcall_id: m[1] };
  return null;
}

// Every picture this page sent, across checks: the server refuses a frame it has seen in an
// earlier check (a replay), and a camera that has not moved on yet when the next check starts
// (a retry right after a failed roll-call attempt, on a busy machine) still shows the last one.
const SENT = new Set();
function remember(key) {
  SENT.add(key);
  if (SENT.size > 4000) SENT.delete(SENT.values().next().value);
}

const POLL_MS = 2000;
const HANDOFF_STATUS = { rollcall_expired: 410, handoff_expired: 410 };

export class FaceCheck {
  /** root: a .facecheck element; url: where to post (or set later); extra: more form fields;
   * uploader: where challenges come from and frames go (default: the learner's API);
   * handoff: offer a phone when this computer has no camera. */
  constructor(root, { url, extra = {}, uploader = null, handoff = true } = {}) {
    this.root = root;
    this.url = url || root.dataset.url;
    this.extra = extra;
    this.uploader = uploader || learnerUploader(this);
    this.handoffAllowed = handoff;
    this.maxFrames = Math.min(Number(root.dataset.maxFrames || 15), 30);
    this.video = root.querySelector("video");
    this.prompt = root.querySelector(".prompt");
    this.status = root.querySelector(".fc-status");
    this.button = root.querySelector(".fc-go");
    this.panel = root.querySelector(".fc-handoff");
    this.busy = false;
    this.cameraError = null;
  }

  say(text, kind = "") {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  /** The learner's template comes from an older face model: link to the enrolment page (the
   * check is repeated afterwards; nothing was recorded and no credit is lost). */
  offerReenrolment() {
    const link = document.createElement("a");
    link.href = "/face";
    link.className = "reenrol-link";
    link.textContent = T.ui.reenrol_link;
    this.status.append(" ", link);
  }

  get canHandOff() {
    return this.handoffAllowed && Boolean(this.panel) && noCamera(this.cameraError) && Boolean(handoffTarget(this.url));
  }

  async preview() {
    try {
      this.say(T.ui.camera_starting);
      this.video.srcObject = await camera();
      await this.video.play().catch(() => {});
      this.cameraError = null;
      this.say("");
      return true;
    } catch (err) {
      this.cameraError = err;
      this.say(cameraMessage(err), "error");
      this.root.dataset.state = "no-camera";
      if (this.canHandOff && !this.busy) this.button.textContent = T.ui.handoff_start;
      return false;
    }
  }

  /** Run one check; resolves with the API's JSON, rejects with an ApiError already explained.
   * Without a camera it resolves with the same JSON once the check passed on a phone. */
  async run() {
    if (this.busy) return null;
    this.busy = true;
    this.button.disabled = true;
    this.root.dataset.state = "running";
    try {
      let result;
      if (await this.preview()) {
        result = await this.capture();
      } else if (this.canHandOff) {
        result = await this.handOff();
      } else {
        throw new ApiError(0, { code: "camera" });
      }
      this.root.dataset.state = "passed";
      this.say("");
      return result;
    } catch (err) {
      this.prompt.textContent = "";
      delete this.root.dataset.action;
      this.root.dataset.state = "failed";
      if (err instanceof ApiError && err.code !== "camera") {
        this.say(explain(err), "error");
        this.root.dataset.code = err.code;
        if (err.code === "face_reenrol_required") this.offerReenrolment();
        this.button.textContent = this.canHandOff ? T.ui.handoff_start : T.ui.retry;
      }
      throw err;
    } finally {
      this.busy = false;
      this.button.disabled = false;
    }
  }

  /** The capture/upload core: open a streamed check, stream frames until the server says it is
   * complete (showing each action the moment it is revealed), then submit it. */
  async capture() {
    const check = await this.uploader.challenge();
    this.prompt.hidden = false;
    this.prompt.textContent = T.ui.hold_still;
    this.say(T.ui.streaming);
    await this.streamFrames(check);
    this.showAction(null);
    this.say(T.ui.uploading);
    const form = new FormData();
    form.append("challenge_id", check.challenge_id);
    for (const [k, v] of Object.entries(this.extra)) form.append(k, v);
    return this.uploader.send(form);
  }

  /** Show the action the server just revealed (or, between actions, "hold still"). */
  showAction(ack) {
    if (ack && ack.action) {
      this.prompt.textContent = actionInWords(ack);
      this.root.dataset.action = ack.action;
    } else {
      this.prompt.textContent = ack && !ack.complete ? T.ui.hold_still : "";
      delete this.root.dataset.action;
    }
  }

  /** Send the camera's frames in order, one at a time, at about FPS, until complete. A camera
   * that repeats the same picture (stalled) is not sent twice: the server would void the check. */
  async streamFrames(check) {
    const video = this.video;
    const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    const ctx = canvas.getContext("2d");
    const ends = performance.now() + STREAM_LIMIT_MS;
    let seq = 0;
    let next = performance.now();
    while (performance.now() < ends) {
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const blob = await toBlob(canvas);
      const key = blob ? await digest(blob) : "";
      if (blob && !SENT.has(key)) {
        remember(key);
        const form = new FormData();
        form.append("seq", String(seq));
        form.append("frame", blob, `frame${seq}.jpg`);
        const ack = await this.uploader.frame(check.frames_url, form);
        seq = ack.next_seq;
        this.showAction(ack);
        if (ack.complete) return;
      }
      next += 1000 / FPS;
      const now = performance.now();
      if (next < now - 1000 / FPS) next = now; // fell behind (slow upload): no catch-up burst
      await sleep(Math.max(0, next - now));
    }
    throw new ApiError(0, { code: "network" });
  }

  /** No camera here: show a QR code and link for a phone, poll until the phone's check ends. */
  async handOff() {
    const preview = this.root.querySelector(".preview");
    const state = this.panel.querySelector(".fc-handoff-state");
    const left = this.panel.querySelector(".fc-handoff-left");
    this.say(T.ui.handoff_creating);
    const h = await api("/api/v1/me/face/handoffs", { method: "POST", json: handoffTarget(this.url) });
    this.say(cameraMessage(this.cameraError), "warn"); // why the phone: and the last resort
    this.root.dataset.state = "handoff";
    this.root.dataset.handoff = h.handoff_id;
    this.panel.querySelector(".fc-qr").src = h.qr_svg_url;
    this.panel.querySelector(".fc-link code").textContent = h.url;
    state.textContent = T.ui.handoff_waiting;
    state.dataset.state = "waiting";
    if (preview) preview.hidden = true;
    this.panel.hidden = false;
    const ends = Date.now() + h.expires_in_s * 1000;
    const tick = () => {
      left.textContent = fmt(T.ui.handoff_left, { t: minutesSeconds((ends - Date.now()) / 1000) });
    };
    tick();
    const clock = setInterval(tick, 1000);
    try {
      for (;;) {
        await sleep(POLL_MS);
        let s;
        try {
          s = await api(`/api/v1/me/face/handoffs/${h.handoff_id}`);
        } catch (err) {
          if (err.status === 401 || err.status === 403 || err.status === 404) throw err;
          continue; // a network blip: poll again
        }
        state.dataset.state = s.state;
        if (s.result) return s.result; // passed (or a roll-call answered with another outcome)
        if (s.closed) {
          throw new ApiError(HANDOFF_STATUS[s.reason] || 409, { ...(s.error || {}), code: s.reason || "handoff_expired" });
        }
        if (s.state === "opened") state.textContent = T.ui.handoff_opened;
        else if (s.state === "failed") {
          const why = explain(new ApiError(422, { ...(s.error || {}), code: s.reason }));
          state.textContent = fmt(T.ui.handoff_retry, { why });
        }
      }
    } finally {
      clearInterval(clock);
      this.panel.hidden = true;
      if (preview) preview.hidden = false;
    }
  }

  /** Wire the button: each click runs a check with a fresh challenge. */
  onClick(handler) {
    this.button.addEventListener("click", () => handler());
  }
}

export function stopCamera() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
}
