// Roster import: upload with a progress bar (XMLHttpRequest reports upload progress; fetch does
// not), then the server's check, then the preview page. Without scripts the form posts to the
// page route and lands on the same preview. The commit shows that it is working.
import { T } from "./api.js";

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)st_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

const form = document.getElementById("roster-form");
if (form) {
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const bar = document.getElementById("roster-progress");
    const status = document.getElementById("roster-status");
    const button = document.getElementById("roster-upload");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.api);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Accept-Language", T.lang === "zh" ? "zh-CN" : "en");
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    status.textContent = T.ui.roster_uploading;
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
      }
    });
    xhr.upload.addEventListener("load", () => {
      bar.removeAttribute("value"); // indeterminate while the server checks every row
      status.textContent = T.ui.roster_checking;
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = {};
      }
      if (xhr.status === 201 && body.import_id) {
        window.location.assign(`/staff/roster-imports/${body.import_id}`);
        return;
      }
      bar.hidden = true;
      button.disabled = false;
      const missing = Array.isArray(body.missing) ? `（${body.missing.join("、")}）` : "";
      const message = T.lang === "zh" ? body.message_zh : body.detail;
      status.textContent = message ? message + missing : T.ui.roster_failed;
      status.dataset.code = body.code || "error";
    });
    xhr.addEventListener("error", () => {
      bar.hidden = true;
      button.disabled = false;
      status.textContent = T.ui.roster_failed;
    });
    xhr.send(new FormData(form));
  });
}

const commit = document.getElementById("commit-form");
if (commit) {
  commit.addEventListener("submit", () => {
    document.getElementById("commit-progress").hidden = false;
    document.getElementById("commit-roster").disabled = true;
    document.getElementById("commit-status").textContent = T.ui.roster_committing;
  });
}
