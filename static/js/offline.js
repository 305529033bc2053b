// The learner's offline sessions: "show my QR" fetches a fresh signed token for the session
// (bound to this learner and this session, good for one scan, valid a minute) and shows it as a
// QR code, fetching a new one every refresh_in_s seconds while it is shown. The station's
// camera (or scanner) reads it; the learner then faces the station's camera.

import { api, explain, fmt, T } from "./api.js";

for (const card of document.querySelectorAll(".offline-session")) {
  const button = card.querySelector(".show-qr");
  if (!button) continue;
  const panel = card.querySelector(".qr-panel");
  const img = panel.querySelector("img.qr");
  const left = panel.querySelector(".qr-left");
  const error = panel.querySelector(".qr-error");
  let timer = null;
  let tick = null;

  async function refresh() {
    try {
      const t = await api(`/api/v1/me/offline-sessions/${card.dataset.session}/qr-token`, { method: "POST" });
      img.src = t.qr_svg;
      img.dataset.token = t.token;
      error.hidden = true;
      const ends = Date.now() + t.refresh_in_s * 1000;
      clearInterval(tick);
      const show = () => {
        left.textContent = fmt(T.ui.qr_refresh_in, { s: Math.max(0, Math.ceil((ends - Date.now()) / 1000)) });
      };
      show();
      tick = setInterval(show, 1000);
      timer = setTimeout(refresh, t.refresh_in_s * 1000);
    } catch (err) {
      clearInterval(tick);
      img.removeAttribute("src");
      delete img.dataset.token;
      left.textContent = "";
      error.textContent = explain(err);
      error.hidden = false;
    }
  }

  button.addEventListener("click", () => {
    if (panel.hidden) {
      panel.hidden = false;
      button.textContent = T.ui.qr_hide;
      refresh();
    } else {
      panel.hidden = true;
      clearTimeout(timer);
      clearInterval(tick);
      button.textContent = T.ui.qr_show;
    }
  });
}
