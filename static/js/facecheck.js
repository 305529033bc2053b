// One face check: camera preview, a fresh challenge shown in words, a burst of frames captured
// while the learner does it (>= 10 frames/s: a blink lasts 100-400 ms), posted as multipart.

import { api, ApiError, explain, T } from "./api.js";

const FPS = 10;
const COUNTDOWN_MS = 1500;
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

/** Capture up to ``n`` distinct frames at FPS (a stalled camera repeats frames: skip those). */
async function burst(video, n) {
  const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  const ctx = canvas.getContext("2d");
  const frames = [];
  const seen = new Set();
  const deadline = performance.now() + (n / FPS) * 1000 + 1000;
  let next = performance.now();
  while (frames.length < n && performance.now() < deadline) {
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const blob = await toBlob(canvas);
    const key = blob ? await digest(blob) : "";
    if (blob && !seen.has(key)) {
      seen.add(key);
      frames.push(blob);
    }
    next += 1000 / FPS;
    await sleep(Math.max(0, next - performance.now()));
  }
  return frames;
}

function actionsInWords(actions) {
  return actions.map((a) => T.ui[a] || a).join(T.ui.then);
}

export class FaceCheck {
  /** root: a .facecheck element; url: where to post (or set later); extra: more form fields. */
  constructor(root, { url, extra = {} } = {}) {
    this.root = root;
    this.url = url || root.dataset.url;
    this.extra = extra;
    this.maxFrames = Math.min(Number(root.dataset.maxFrames || 15), 30);
    this.video = root.querySelector("video");
    this.prompt = root.querySelector(".prompt");
    this.status = root.querySelector(".fc-status");
    this.button = root.querySelector(".fc-go");
    this.busy = false;
  }

  say(text, kind = "") {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  async preview() {
    try {
      this.say(T.ui.camera_starting);
      this.video.srcObject = await camera();
      await this.video.play().catch(() => {});
      this.say("");
      return true;
    } catch (err) {
      this.say(cameraMessage(err), "error");
      this.root.dataset.state = "no-camera";
      return false;
    }
  }

  /** Run one check; resolves with the API's JSON, rejects with an ApiError already explained. */
  async run() {
    if (this.busy) return null;
    this.busy = true;
    this.button.disabled = true;
    this.root.dataset.state = "running";
    try {
      if (!(await this.preview())) throw new ApiError(0, { code: "camera" });
      const challenge = await api("/api/v1/me/face/challenge", { method: "POST" });
      const words = actionsInWords(challenge.actions);
      this.prompt.textContent = words;
      this.prompt.hidden = false;
      this.say(T.ui.get_ready);
      await sleep(COUNTDOWN_MS);
      this.say(T.ui.capturing + " " + words);
      const frames = await burst(this.video, this.maxFrames);
      this.prompt.textContent = "";
      this.say(T.ui.uploading);
      const form = new FormData();
      form.append("challenge_id", challenge.challenge_id);
      for (const [k, v] of Object.entries(this.extra)) form.append(k, v);
      frames.forEach((b, i) => form.append("frames", b, `frame${i}.jpg`));
      const result = await api(this.url, { method: "POST", form });
      this.root.dataset.state = "passed";
      this.say("");
      return result;
    } catch (err) {
      this.prompt.textContent = "";
      this.root.dataset.state = "failed";
      if (err instanceof ApiError && err.code !== "camera") {
        this.say(explain(err), "error");
        this.root.dataset.code = err.code;
        this.button.textContent = T.ui.retry;
      }
      throw err;
    } finally {
      this.busy = false;
      this.button.disabled = false;
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
