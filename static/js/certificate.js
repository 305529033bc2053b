// The learner's certificate page: copy the public verification link.
// Without scripts the link is still on the page to select by hand, so the button starts hidden.
const field = document.getElementById("verify-url");
const button = document.getElementById("copy-link");
const status = document.getElementById("copy-status");

async function copy() {
  try {
    await navigator.clipboard.writeText(field.value);
    status.textContent = button.dataset.copied;
  } catch {
    // No clipboard access (an old browser, or permission refused): select it for the learner.
    field.focus();
    field.select();
    status.textContent = button.dataset.select;
  }
}

if (field && button) {
  button.hidden = false;
  button.addEventListener("click", copy);
  field.addEventListener("focus", () => field.select());
}
