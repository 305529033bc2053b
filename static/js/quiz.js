// The face-gated quiz: check the face, render the paper (never the answers), submit once.
import { api, explain, fmt, T } from "./api.js";
import { FaceCheck, stopCamera } from "./facecheck.js";

const start = document.getElementById("quiz-start");
const paper = document.getElementById("paper");
const list = document.getElementById("questions");
const timerEl = document.getElementById("quiz-timer");
const result = document.getElementById("quiz-result");
let attempt = null;
let clock = null;

function el(tag, { dataset = {}, ...props } = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  for (const c of children) node.append(c);
  return node;
}

function show(a) {
  attempt = a;
  start.hidden = true;
  paper.hidden = false;
  list.replaceChildren(
    ...a.questions.map((q, i) => {
      const type = q.kind === "multiple" ? "checkbox" : "radio";
      const options = q.options.map((text, j) =>
        el("label", { className: "option" }, [
          el("input", { type, name: q.id, value: String(j) }),
          el("span", { textContent: text }),
        ]),
      );
      // The number is part of the legend, so it sits on the stem's first line.
      const legend = el("legend", {}, [
        el("span", { className: "qno", textContent: `${i + 1}.` }),
        " ",
        el("span", { className: "kind", textContent: T.ui[`kind_${q.kind}`] || "" }),
        ` ${q.stem}`,
      ]);
      return el("li", { className: "question", dataset: { q: q.id } }, [
        el("fieldset", {}, [legend, ...options]),
      ]);
    }),
  );
  const deadline = Date.parse(a.deadline);
  const tick = () => {
    const left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    const t = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    timerEl.textContent = fmt(T.ui.quiz_time_left, { t });
  };
  tick();
  clock = setInterval(tick, 1000);
  timerEl.hidden = false;
  window.scrollTo({ top: paper.offsetTop - 10 });
}

const check = new FaceCheck(document.getElementById("quiz-check"));
check.onClick(async () => {
  let a = null;
  try {
    a = await check.run();
    // A new attempt (not one resumed below) uses up one of the attempts left.
    const left = document.getElementById("attempts-left");
    left.textContent = String(Math.max(0, Number(left.textContent) - 1));
  } catch (err) {
    if (err.code === "attempt_open" && err.body.attempt_id) {
      a = await api(`/api/v1/quiz-attempts/${err.body.attempt_id}`).catch(() => null);
      if (!a || a.state !== "open") return;
    } else {
      return; // explained in the panel
    }
  }
  stopCamera();
  show(a);
  result.hidden = false;
  result.className = "status ok";
  result.textContent = T.ui.quiz_started;
});

paper.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!attempt) return;
  const answers = {};
  let unanswered = 0;
  for (const q of attempt.questions) {
    const chosen = [...paper.querySelectorAll(`input[name="${q.id}"]:checked`)].map((i) => Number(i.value));
    if (chosen.length) answers[q.id] = chosen;
    else unanswered += 1;
  }
  if (unanswered && !window.confirm(fmt(T.ui.quiz_unanswered, { n: unanswered }))) return;
  const button = document.getElementById("submit-quiz");
  button.disabled = true;
  result.hidden = false;
  try {
    finish(await api(`/api/v1/quiz-attempts/${attempt.attempt_id}/submit`, { method: "POST", json: { answers } }));
  } catch (err) {
    // A repeat (the first answer was lost on the way back) is refused with the first result.
    if (err.code === "attempt_closed" && typeof err.body.total === "number") {
      finish(err.body);
      return;
    }
    button.disabled = false;
    result.className = "status error";
    result.textContent = explain(err);
  }
});

/** Show the submitted attempt's result (the submit's answer, or the 409 to its repeat). */
function finish(r) {
  clearInterval(clock);
  paper.hidden = true;
  const text = r.passed ? T.ui.quiz_result_pass : T.ui.quiz_result_fail;
  result.className = `status ${r.passed ? "ok" : "error"}`;
  result.dataset.passed = r.passed ? "1" : "0";
  result.textContent = fmt(text, { score: r.score, correct: r.correct, total: r.total, pass: r.pass_score });
  // The server's count after this submission: what is left, and whether to offer another go.
  document.getElementById("attempts-left").textContent = String(r.attempts_left);
  document.getElementById("attempts-used").hidden = r.attempts_left > 0 || r.quiz_passed;
  document.getElementById("quiz-again").hidden = r.attempts_left === 0 || r.quiz_passed;
  const record = document.getElementById("attempt-record");
  document.getElementById("attempt-list").append(el("li", { textContent: result.textContent }));
  record.hidden = false;
}
