// The study view: face check-in, heartbeats while the page is visible, roll-call dialog.
import { api, explain, fmt, minutesSeconds, T } from "./api.js";
import { FaceCheck, stopCamera } from "./facecheck.js";

const root = document.getElementById("study");
const stateEl = document.getElementById("study-state");
const credited = document.getElementById("credited");
const checkinRoot = document.getElementById("checkin-check");
const checkinPanel = document.getElementById("checkin-panel");
const studyActions = document.getElementById("study-actions");
const dialog = document.getElementById("rollcall");
const countdownEl = document.getElementById("rollcall-countdown");

let intervalMs = Number(root.dataset.interval) * 1000;
let sessionId = null;
let timer = null;
let rollcall = null;
let countdown = null;

function setState(state, text, kind = "") {
  root.dataset.state = state;
  stateEl.dataset.state = state;
  stateEl.textContent = text;
  stateEl.className = `status ${kind}`;
}

function showCredit(seconds) {
  credited.dataset.seconds = String(seconds);
  credited.textContent = minutesSeconds(seconds);
}

function currentLesson() {
  const open = document.querySelector("details.lesson[open]");
  return open ? open.dataset.lesson : null;
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(beat, ms);
}

function stop() {
  clearTimeout(timer);
  sessionId = null;
}

async function send(visible) {
  const r = await api(`/api/v1/sessions/${sessionId}/heartbeat`, {
    method: "POST",
    json: { visible, lesson_id: currentLesson() },
  });
  showCredit(r.credited_seconds);
  if (r.state === "paused") {
    // Paused by the server: a roll-call left open past its deadline was recorded as missed.
    const missed = rollcall && Date.now() >= Date.parse(rollcall.deadline);
    paused(missed ? T.ui.rollcall_missed : T.ui.paused);
  } else if (r.state === "review" && root.dataset.state !== "review") {
    setState("review", T.ui.review, "warn");
  } else if (r.state === "studying" && root.dataset.state !== "studying") {
    setState("studying", T.ui.studying, "ok");
  }
  if (r.rollcall && !rollcall && sessionId) openRollcall(r.rollcall);
  return r;
}

async function beat() {
  if (!sessionId || document.visibilityState !== "visible") return;
  try {
    await send(true);
  } catch (err) {
    if (err.code === "session_ended") {
      closeRollcall();
      setState("ended", T.ui.ended);
      stop();
      showCheckin();
      return;
    }
    setState(root.dataset.state, explain(err), "error");
    if (err.status === 401) return stop();
  }
  if (sessionId) schedule(intervalMs);
}

// Heartbeats only while the page is visible. Each beat says whether the page was visible since
// the previous one: a last beat when hiding, and a "was hidden" beat on return (no credit for it).
document.addEventListener("visibilitychange", async () => {
  if (!sessionId) return;
  if (document.visibilityState === "hidden") {
    clearTimeout(timer);
    send(true).catch(() => {});
    setState(root.dataset.state, T.ui.hidden, "warn");
  } else {
    try {
      await send(false);
      if (root.dataset.state === "studying") setState("studying", T.ui.studying, "ok");
    } catch {
      /* the next beat reports it */
    }
    schedule(intervalMs);
  }
});

function showCheckin() {
  checkinPanel.hidden = false;
  studyActions.hidden = true;
}

function paused(text) {
  closeRollcall();
  stop();
  setState("paused", text, "error");
  showCheckin();
  checkin.button.textContent = T.ui.retry;
}

// ---------------------------------------------------------------- check-in

const checkin = new FaceCheck(checkinRoot);
checkin.onClick(async () => {
  let r;
  try {
    r = await checkin.run();
  } catch {
    return; // explained in the panel
  }
  sessionId = r.session_id;
  intervalMs = r.heartbeat_interval_s * 1000;
  checkinPanel.hidden = true;
  studyActions.hidden = false;
  setState("studying", T.ui.checkin_ok, "ok");
  stopCamera();
  schedule(intervalMs);
});

// ---------------------------------------------------------------- roll-call

const rollcallCheck = new FaceCheck(document.getElementById("rollcall-check"));
dialog.addEventListener("cancel", (e) => e.preventDefault()); // answer it or let it expire

function openRollcall(offer) {
  rollcall = offer;
  rollcallCheck.url = `/api/v1/rollcalls/${offer.rollcall_id}/response`;
  rollcallCheck.button.textContent = T.ui.start;
  rollcallCheck.say("");
  dialog.dataset.rollcall = offer.rollcall_id;
  if (!dialog.open) dialog.showModal();
  const deadline = Date.parse(offer.deadline);
  const tick = () => {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    countdownEl.textContent = fmt(T.ui.seconds_left, { s: Math.max(left, 0) });
    if (left <= 0 && !rollcallCheck.busy) expire();
  };
  tick();
  clearInterval(countdown);
  countdown = setInterval(tick, 1000);
  rollcallCheck.preview();
}

// The deadline passed unanswered: the page pauses at once (no more heartbeats, so no more
// credit), then tells the server, so the miss is recorded now rather than at the server's next
// sweep, and shows the credit the server actually kept (strict policy: the stretch since the last
// passed check is forfeited). A clock a little ahead of the server's is retried a few times.
async function expire() {
  const id = sessionId;
  paused(T.ui.rollcall_missed);
  stopCamera();
  for (let attempt = 0; id && attempt < 5; attempt += 1) {
    try {
      const r = await api(`/api/v1/sessions/${id}/heartbeat`, {
        method: "POST",
        json: { visible: false, lesson_id: currentLesson() },
      });
      showCredit(r.credited_seconds);
      if (r.state !== "studying" || !r.rollcall) return;
    } catch {
      return; // the server's sweep records the miss
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function closeRollcall() {
  clearInterval(countdown);
  rollcall = null;
  if (dialog.open) dialog.close();
}

rollcallCheck.onClick(async () => {
  let r;
  try {
    r = await rollcallCheck.run();
  } catch (err) {
    if (err.code === "rollcall_expired") paused(T.ui.rollcall_missed);
    return; // other refusals are explained in the dialog; retry while time is left
  }
  closeRollcall();
  stopCamera();
  if (r.outcome === "passed") setState("studying", T.ui.rollcall_passed, "ok");
  else if (r.outcome === "review") setState("review", T.ui.rollcall_review, "warn");
  else paused(T.ui.rollcall_failed);
});

// ---------------------------------------------------------------- end

document.getElementById("end-study").addEventListener("click", async () => {
  if (!sessionId || !window.confirm(T.ui.confirm_end)) return;
  const id = sessionId;
  stop();
  try {
    const r = await api(`/api/v1/sessions/${id}/end`, { method: "POST" });
    showCredit(r.credited_seconds);
    setState("ended", fmt(T.ui.end_ok, { m: Math.floor(r.credited_seconds / 60) }), "ok");
  } catch (err) {
    setState("ended", explain(err), "error");
  }
  closeRollcall();
  showCheckin();
  checkin.button.textContent = T.ui.checkin_again;
});

showCredit(Number(credited.dataset.seconds));
