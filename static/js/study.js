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

// ---------------------------------------------------------------- hosted lesson videos
// Credit for a video is the newly watched span the server reads from the playback positions the
// heartbeats carry. The player keeps to the same rule so the learner is never surprised: no
// seeking past the furthest point watched, no speed above 1x, one video playing at a time (in
// this tab and across the learner's tabs), paused when the page is hidden.

const videos = [...document.querySelectorAll("video.lesson-video")];
const SLACK_S = 1;
const furthest = new Map(videos.map((v) => [v.dataset.lesson, Number(v.dataset.furthestMs) / 1000]));
const lastTime = new Map();
const channel = "BroadcastChannel" in window ? new BroadcastChannel("skilltrace-video") : null;

function videoOf(lesson) {
  return videos.find((v) => v.dataset.lesson === lesson) || null;
}

function note(video, text) {
  const el = video.closest("details").querySelector(".video-note");
  if (el) el.textContent = text;
}

function playingVideo() {
  return videos.find((v) => !v.paused && !v.ended) || null;
}

function pauseAll(except = null) {
  for (const v of videos) if (v !== except && !v.paused) v.pause();
}

for (const v of videos) {
  const id = v.dataset.lesson;
  v.addEventListener("timeupdate", () => {
    const t = v.currentTime;
    const prev = lastTime.has(id) ? lastTime.get(id) : t;
    // Playing on from within what was watched moves the furthest point along.
    const shown = document.visibilityState === "visible";
    if (shown && !v.seeking && t >= prev && t - prev <= 1.5 && prev <= furthest.get(id) + SLACK_S) {
      furthest.set(id, Math.max(furthest.get(id), t));
    }
    lastTime.set(id, t);
  });
  v.addEventListener("seeking", () => {
    const limit = furthest.get(id);
    if (v.currentTime > limit + SLACK_S) {
      v.currentTime = limit;
      v.dataset.refused = String(Number(v.dataset.refused) + 1);
      note(v, T.ui.video_no_skip);
    }
    lastTime.set(id, v.currentTime);
  });
  v.addEventListener("ratechange", () => {
    if (v.playbackRate > 1) {
      v.playbackRate = 1;
      note(v, T.ui.video_speed);
    }
  });
  v.addEventListener("play", () => {
    pauseAll(v);
    v.closest("details").open = true;
    if (channel) channel.postMessage({ playing: id });
    if (!sessionId) note(v, T.ui.video_not_studying);
  });
  // Report the span watched so far at once when playback stops.
  v.addEventListener("pause", () => beatNow());
  v.addEventListener("ended", () => beatNow());
}

if (channel) {
  channel.onmessage = (e) => {
    if (e.data && e.data.playing && playingVideo()) {
      const v = playingVideo();
      pauseAll();
      note(v, T.ui.video_other_tab);
    }
  };
}

function currentLesson() {
  const v = playingVideo();
  if (v) return v.dataset.lesson;
  const open = document.querySelector("details.lesson[open]");
  return open ? open.dataset.lesson : null;
}

function beatBody(visible) {
  const lesson = currentLesson();
  const v = lesson ? videoOf(lesson) : null;
  const body = { visible, lesson_id: lesson };
  if (v) body.position_ms = Math.floor(v.currentTime * 1000);
  return body;
}

function beatNow() {
  if (sessionId && document.visibilityState === "visible") schedule(0);
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
  const body = beatBody(visible);
  const r = await api(`/api/v1/sessions/${sessionId}/heartbeat`, { method: "POST", json: body });
  root.dataset.beats = String(Number(root.dataset.beats || 0) + 1); // answered heartbeats
  showCredit(r.credited_seconds);
  if (r.furthest_position_ms !== null && r.furthest_position_ms !== undefined && body.lesson_id) {
    const id = body.lesson_id;
    furthest.set(id, Math.max(furthest.get(id) || 0, r.furthest_position_ms / 1000));
  }
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
    pauseAll(); // a hidden page earns nothing: the video waits for the learner
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
        json: beatBody(false),
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
