// The phone side of the no-camera fallback (/m/<code>): the same capture code as the computer,
// with the hand-off's code as the uploader (no sign-in). The computer's page moves on by itself.
import { api, explain, fmt, minutesSeconds, T } from "./api.js";
import { FaceCheck, handoffUploader, stopCamera } from "./facecheck.js";

const root = document.getElementById("handoff");
const code = root.dataset.code;
const leftEl = document.getElementById("handoff-left");
const doneEl = document.getElementById("handoff-done");
const check = new FaceCheck(document.getElementById("phone-check"), {
  uploader: handoffUploader(code),
  handoff: false,
});

const ends = Date.now() + Number(root.dataset.expiresIn) * 1000;
let finished = false;

function finish(text, kind) {
  finished = true;
  stopCamera();
  clearInterval(clock);
  root.dataset.state = kind;
  check.button.hidden = true;
  check.root.querySelector(".preview").hidden = true;
  leftEl.hidden = true;
  doneEl.hidden = false;
  doneEl.className = `status ${kind === "passed" ? "ok" : "error"}`;
  doneEl.textContent = text;
}

function tick() {
  const left = (ends - Date.now()) / 1000;
  if (left <= 0 && !check.busy && !finished) {
    finish(T.errors.handoff_expired || T.ui.generic, "closed");
    return;
  }
  leftEl.textContent = fmt(T.ui.handoff_left, { t: minutesSeconds(left) });
}
const clock = setInterval(tick, 1000);
tick();

api(`/api/v1/handoffs/${encodeURIComponent(code)}/open`, { method: "POST" }).catch((err) => {
  if (["handoff_expired", "handoff_used", "handoff_not_found"].includes(err.code)) {
    finish(explain(err), "closed");
  }
});

check.onClick(async () => {
  let r;
  try {
    r = await check.run();
  } catch (err) {
    // Refusals are explained in the panel; a closed hand-off cannot be tried again here.
    if (err.body && (err.body.handoff_closed || ["handoff_expired", "handoff_used", "handoff_not_found"].includes(err.code))) {
      finish(`${explain(err)} ${T.ui.handoff_phone_back}`, "closed");
    }
    return;
  }
  if (!r) return;
  if (r.state === "passed") finish(T.ui.handoff_phone_done, "passed");
  else finish(T.ui.handoff_phone_answered, "closed");
});

check.preview();
