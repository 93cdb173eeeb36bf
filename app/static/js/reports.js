// Report pages: the "print" button opens the browser's print dialog (print to PDF from there).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
