// The 360 rating form: a live "已答 x / n" count, and on submit every unanswered item is marked and
// the first one scrolled to (the server refuses an incomplete submit anyway and marks them too).
(function () {
  var form = document.getElementById("rating-form");
  if (!form) { return; }
  var items = Array.prototype.slice.call(form.querySelectorAll(".rating-item"));
  var counter = form.querySelector(".answered-count");

  function answered(item) { return item.querySelector("input[type=radio]:checked") !== null; }

  function mark(item, missing) {
    item.classList.toggle("is-missing", missing);
    var badge = item.querySelector(".missing-mark");
    if (missing && !badge) {
      badge = document.createElement("span");
      badge.className = "badge text-bg-danger missing-mark";
      badge.textContent = form.dataset.missingText;
      item.querySelector("p").append(" ", badge);
    } else if (!missing && badge) {
      badge.remove();
    }
  }

  function update() {
    var done = items.filter(answered).length;
    if (counter) { counter.textContent = String(done); }
    items.forEach(function (item) { if (answered(item)) { mark(item, false); } });
  }

  form.addEventListener("change", update);
  form.addEventListener("submit", function (event) {
    if (!event.submitter || event.submitter.value !== "submit") { return; }
    var missing = items.filter(function (item) { return !answered(item); });
    if (missing.length === 0) { return; }
    event.preventDefault();
    missing.forEach(function (item) { mark(item, true); });
    missing[0].scrollIntoView({block: "center"});
    var first = missing[0].querySelector("input[type=radio]");
    if (first) { first.focus({preventScroll: true}); }
  });
  update();
})();
