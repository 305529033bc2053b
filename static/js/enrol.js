import { T } from "./api.js";
import { FaceCheck, stopCamera } from "./facecheck.js";

const check = new FaceCheck(document.getElementById("enrol-check"));
check.onClick(async () => {
  try {
    await check.run();
  } catch {
    return; // explained in the panel; the button now says "retry" with a fresh challenge
  }
  // The result is said once, in the page's state line; the stopped camera's black box goes.
  check.say("");
  check.root.querySelector(".preview").hidden = true;
  check.button.hidden = true;
  document.getElementById("enrol-next").hidden = false;
  const state = document.getElementById("face-state");
  state.textContent = T.ui.enrolled_ok;
  state.className = "status ok";
  state.dataset.enrolled = "1";
  stopCamera();
});
