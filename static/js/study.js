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
const forfeitEl = document.getElementById("forfeit");
const notesEl = document.getElementById("time-notes");

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

// What the counter does not (yet) count, as the server's time_notes says it
// (app/web/attendance_words.py): the open stretch, time held for review, time forfeited.
function showTimeNotes(r) {
  if (typeof r.open_seconds !== "number") return;
  const notes = [];
  if (r.open_seconds >= 1) notes.push(fmt(T.ui.time_open, { d: durationWords(r.open_seconds) }));
  if (r.held_seconds >= 1) notes.push(fmt(T.ui.time_held, { d: durationWords(r.held_seconds) }));
  if (r.forfeited_seconds >= 1) {
    notes.push(fmt(T.ui.time_forfeited, { d: durationWords(r.forfeited_seconds) }));
  }
  notesEl.textContent = notes.join("；");
  notesEl.dataset.open = String(r.open_seconds);
  notesEl.dataset.held = String(r.held_seconds);
  notesEl.dataset.forfeited = String(r.forfeited_seconds);
  notesEl.hidden = notes.length === 0;
}

// A decided roll-call that stopped the study (failed, missed) closed the open stretch: add what
// it forfeited to the notes at once (once per roll-call). While studying goes on, the next
// heartbeat's totals say it; a roll-call a heartbeat already reported is in them.
const noted = new Set();
function noteRollcall(rc) {
  if (sessionId || noted.has(rc.rollcall_id) || rc.exception) return;
  const held = rc.status === "review" ? rc.held_seconds || 0 : 0;
  const lost = rc.status === "failed" || rc.status === "missed" ? rc.forfeited_seconds || 0 : 0;
  if (!held && !lost) return;
  noted.add(rc.rollcall_id);
  showTimeNotes({
    open_seconds: 0,
    held_seconds: Number(notesEl.dataset.held || 0) + held,
    forfeited_seconds: Number(notesEl.dataset.forfeited || 0) + lost,
  });
}

// The lesson on screen: its minutes studied (confirmed plus the open stretch) of those required,
// ticked once the confirmed minutes reach them (as completion counts it).
function showLesson(l) {
  if (!l) return;
  const badge = document.querySelector(`details.lesson[data-lesson="${l.lesson_id}"] .lesson-progress`);
  if (!badge) return;
  badge.dataset.watchedMs = String(l.watched_seconds * 1000);
  badge.dataset.openMs = String(l.open_seconds * 1000);
  badge.dataset.requiredMs = String(l.required_seconds * 1000);
  const w = ((l.watched_seconds + l.open_seconds) / 60).toFixed(1);
  const need = (l.required_seconds / 60).toFixed(1);
  badge.textContent = fmt(T.ui.lesson_studied, { w, r: need }) + (l.finished ? " ✓" : "");
  badge.classList.toggle("ok", l.finished);
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

// ---------------------------------------------------------------- what a roll-call cost, in words
// The same sentences as the server's (app/web/attendance_words.py), from the same templates.

function reasonWords(code) {
  return (code && (T.reasons[code] || T.errors[code])) || "";
}

function clockTime(iso) {
  return new Date(iso).toLocaleTimeString("zh-CN", {
    timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

function durationWords(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s % 60 === 0) return fmt(T.ui.duration_minutes, { m: s / 60 });
  return s < 60 ? fmt(T.ui.duration_seconds, { s }) : minutesSeconds(s);
}

function rollcallSentence(rc) {
  const t = rc.stretch_from ? clockTime(rc.stretch_from) : "";
  if (rc.exception) return fmt(T.ui.excused, { t, d: durationWords(rc.exception.restored_seconds) });
  if (rc.status === "review") return fmt(T.ui.held_review, { t, d: durationWords(rc.held_seconds) });
  if (rc.status !== "failed" && rc.status !== "missed") return "";
  if (!rc.forfeited_seconds) return T.ui.forfeit_none;
  const key = rc.status === "failed" ? "forfeit_failed" : "forfeit_missed";
  return fmt(T.ui[key], { t, d: durationWords(rc.forfeited_seconds) });
}

function rollcallReason(rc) {
  const failed = rc.attempts.filter((a) => a.outcome !== "passed");
  if (failed.length) return reasonWords(failed[failed.length - 1].reason_code);
  return rc.status === "missed" ? reasonWords("rollcall_no_answer") : "";
}

/** Ask the server what a decided roll-call did and say it on the page (forfeited minutes, held
 * for review), with the reason in words. */
async function explainRollcall(id) {
  if (!id) return;
  let rc;
  try {
    rc = await api(`/api/v1/rollcalls/${id}`);
  } catch {
    return; // the state line already says what to do
  }
  noteRollcall(rc);
  const sentence = rollcallSentence(rc);
  if (!sentence) return;
  const why = rollcallReason(rc);
  forfeitEl.textContent = why ? `${sentence}${T.ui.reason_prefix}${why}` : sentence;
  forfeitEl.className = `status ${rc.status === "review" ? "warn" : "error"}`;
  forfeitEl.dataset.rollcall = rc.rollcall_id;
  forfeitEl.dataset.forfeited = String(rc.forfeited_seconds);
  forfeitEl.hidden = false;
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
  showTimeNotes(r);
  showLesson(r.lesson);
  if (r.furthest_position_ms !== null && r.furthest_position_ms !== undefined && body.lesson_id) {
    const id = body.lesson_id;
    furthest.set(id, Math.max(furthest.get(id) || 0, r.furthest_position_ms / 1000));
  }
  if (r.state === "paused") {
    // Paused by the server: a roll-call left open past its deadline was recorded as missed.
    const id = rollcall && rollcall.rollcall_id;
    const missed = rollcall && Date.now() >= Date.parse(rollcall.deadline);
    if (id) noted.add(id); // this heartbeat's totals hold what the miss forfeited
    paused(missed ? T.ui.rollcall_missed : T.ui.paused);
    explainRollcall(id);
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
  forfeitEl.hidden = true; // a new stretch of study: the last roll-call's account is history
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
  rollcallCheck.root.dataset.state = "idle"; // a new roll-call: its own attempts
  delete rollcallCheck.root.dataset.attempt;
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
  const rollcallId = rollcall && rollcall.rollcall_id;
  paused(T.ui.rollcall_missed);
  stopCamera();
  for (let attempt = 0; id && attempt < 5; attempt += 1) {
    try {
      const r = await api(`/api/v1/sessions/${id}/heartbeat`, {
        method: "POST",
        json: beatBody(false),
      });
      showCredit(r.credited_seconds);
      if (r.state !== "studying" || !r.rollcall) {
        showTimeNotes(r);
        if (rollcallId) noted.add(rollcallId);
        return explainRollcall(rollcallId);
      }
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
  const id = rollcall && rollcall.rollcall_id;
  let r;
  try {
    r = await rollcallCheck.run();
  } catch (err) {
    if (err.code === "rollcall_expired") {
      paused(T.ui.rollcall_missed);
      explainRollcall(id);
    }
    return; // other refusals are explained in the dialog; retry while time is left
  }
  if (!r) return;
  if (typeof r.credited_seconds === "number") showCredit(r.credited_seconds);
  if (r.rollcall_status === "pending") {
    // This attempt failed and chances are left: say why, and offer a fresh try in the dialog.
    rollcallCheck.root.dataset.state = "retry";
    rollcallCheck.root.dataset.attempt = String(r.attempt);
    const why = reasonWords(r.reason_code);
    rollcallCheck.say(fmt(T.ui.rollcall_attempt_failed, { n: r.attempt, why, left: r.attempts_left }), "error");
    rollcallCheck.button.textContent = T.ui.rollcall_try_again;
    return;
  }
  closeRollcall();
  stopCamera();
  beatNow(); // the open stretch was confirmed, held or forfeited: the notes and lessons say so
  if (r.rollcall_status === "passed") setState("studying", T.ui.rollcall_passed, "ok");
  else if (r.rollcall_status === "review") {
    setState("review", T.ui.rollcall_review, "warn");
    explainRollcall(id);
  } else {
    paused(T.ui.rollcall_failed);
    explainRollcall(id);
  }
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
