// Small progressive enhancements; every page works without this file (and without htmx).
(function () {
  "use strict";

  // A "select all" checkbox (data-select-all="<form id>") ticks every row checkbox of its form and keeps a
  // live count of the selection in the element named by data-count.
  function wireSelectAll(root) {
    root.querySelectorAll("input[data-select-all]").forEach(function (master) {
      if (master.dataset.wired) return;
      master.dataset.wired = "1";
      var form = document.getElementById(master.dataset.selectAll);
      if (!form) return;
      var boxes = function () { return form.querySelectorAll("input[type=checkbox][name=ids]"); };
      var counter = master.dataset.count ? document.getElementById(master.dataset.count) : null;
      var update = function () {
        var all = boxes(), ticked = 0;
        all.forEach(function (box) { if (box.checked) ticked += 1; });
        master.checked = all.length > 0 && ticked === all.length;
        master.indeterminate = ticked > 0 && ticked < all.length;
        if (counter) counter.textContent = ticked + " of " + all.length + " selected";
      };
      master.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = master.checked; });
        update();
      });
      form.addEventListener("change", function (event) {
        if (event.target && event.target.name === "ids") update();
      });
      update();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { wireSelectAll(document); });
  // Fragments swapped in by htmx (the filtered suggestion list) bring their own checkboxes.
  document.addEventListener("htmx:afterSettle", function () { wireSelectAll(document); });
})();
