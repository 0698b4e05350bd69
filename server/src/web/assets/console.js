// The console's only script. Pages work without it.
// "Back" links go back in history when there is one.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

// Live pages (inbox, dashboard): the server sends the change feed's position when
// it moves; the page then fetches itself again and swaps its [data-live] part.
(() => {
  const live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) return;
  let shown = live.dataset.feed;
  let busy = false;
  const refresh = async () => {
    busy = true;
    live.classList.add("updating");
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.querySelector("[data-live]");
      if (fresh) {
        live.innerHTML = fresh.innerHTML;
        live.dataset.feed = fresh.dataset.feed;
        shown = fresh.dataset.feed;
      }
    } finally {
      live.classList.remove("updating");
      busy = false;
    }
  };
  const source = new EventSource("/live");
  source.addEventListener("feed", (event) => {
    if (event.data !== shown && !busy) refresh();
  });
})();
