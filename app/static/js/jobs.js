// A background job's page: poll its JSON status, move the bar, show the step or the failure,
// and go to the result when it is done. The page itself works without this (reload shows the state).
(function () {
  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "1") { return; }
  var bar = document.getElementById("job-bar");
  var meter = document.getElementById("job-progress");

  function show(info) {
    bar.style.width = info.progress + "%";
    bar.textContent = info.progress + "%";
    meter.setAttribute("aria-valuenow", info.progress);
    document.getElementById("job-step").textContent = info.step;
    var state = document.getElementById("job-state");
    state.textContent = info.state_label;
    state.className = "badge " + {queued: "text-bg-secondary", running: "text-bg-primary",
                                  succeeded: "text-bg-success", failed: "text-bg-danger"}[info.state];
    if (info.state === "failed") {
      bar.className = "progress-bar bg-danger";
      document.getElementById("job-error-text").textContent = info.error;
      document.getElementById("job-error").classList.remove("d-none");
    }
    if (info.state === "succeeded") {
      bar.className = "progress-bar bg-success";
      if (info.result_url) {
        document.getElementById("job-result-link").href = info.result_url;
        document.getElementById("job-result").classList.remove("d-none");
        // Through the job page, which says what was done and then goes on to the result.
        window.setTimeout(function () { window.location.assign(window.location.pathname); }, 700);
      }
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (info) {
        if (info) { show(info); }
        if (!info || !info.finished) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
