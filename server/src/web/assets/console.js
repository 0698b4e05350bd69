// The console's only script: "back" links go back in history when there is one.
// Pages work without it.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
