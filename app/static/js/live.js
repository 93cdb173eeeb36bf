// Live monitoring: every data-live-seconds, ask data-live-url for the page's stamp and reload the
// page when the figures behind it changed (new records arrived). Same-origin only; no library.
(function () {
  var root = document.querySelector("[data-live-url]");
  if (!root || !window.fetch) {
    return;
  }
  var url = root.getAttribute("data-live-url");
  var stamp = root.getAttribute("data-live-stamp");
  var seconds = parseInt(root.getAttribute("data-live-seconds"), 10) || 30;
  window.setInterval(function () {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && data.stamp !== stamp) {
          window.location.reload();
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }, seconds * 1000);
})();
