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
  check.say(""); // a refusal the panel showed is said once, below
  check.button.hidden = true;
  check.root.querySelector(".preview").hidden = true;
  leftEl.hidden = true;
  doneEl.hidden = false;
  doneEl.className = `status ${kind === "passed" ? "ok" : "error"}`;
  doneEl.textContent = text;
}

const CLOSED = ["handoff_expired", "handoff_used", "handoff_not_found"];

/** The link can no longer be used: say so once, in words that tell the learner what to do. */
function closedBy(err, back = "") {
  if (err.code === "handoff_used" && err.body.passed) {
    // This phone's check passed but its answer was lost on the way; the retry found it spent.
    finish(T.ui.handoff_phone_done, "passed");
  } else if (err.code === "handoff_used") {
    finish(explain(err), "closed"); // its words already send the learner back to the computer
  } else {
    finish(`${explain(err)}${back}`, "closed");
  }
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
  if (CLOSED.includes(err.code)) closedBy(err);
});

check.onClick(async () => {
  let r;
  try {
    r = await check.run();
  } catch (err) {
    // Refusals are explained in the panel; a closed hand-off cannot be tried again here.
    if (err.body && (err.body.handoff_closed || CLOSED.includes(err.code))) {
      closedBy(err, ` ${T.ui.handoff_phone_back}`);
    }
    return;
  }
  if (!r) return;
  if (r.state === "passed") finish(T.ui.handoff_phone_done, "passed");
  else finish(T.ui.handoff_phone_answered, "closed");
});

check.preview();
