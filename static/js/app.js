// Small progressive enhancements; every page works without this file (and without htmx).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The phone's Menu button folds the navigation in and out.
  function wireNavToggle() {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("mainnav");
    if (!toggle || !nav) return;
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // Typing hours in a review row ticks that row, so the correction is part of the next decision.
  function wireHoursTick(root) {
    root.querySelectorAll("input.hours-input[data-row]").forEach(function (box) {
      if (box.dataset.wired) return;
      box.dataset.wired = "1";
      box.addEventListener("input", function () {
        var pick = document.getElementById(box.dataset.row);
        if (pick && !pick.checked) {
          pick.checked = true;
          pick.dispatchEvent(new Event("change", {bubbles: true}));
        }
      });
    });
  }

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

  // On a phone, filter panels start folded (unless they hold an error), so the rows come first.
  function foldFiltersOnPhones() {
    if (!window.matchMedia("(max-width: 48rem)").matches) return;
    document.querySelectorAll("details.filters[open]:not([data-keep-open])").forEach(function (panel) {
      panel.open = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireNavToggle();
    foldFiltersOnPhones();
    wireSelectAll(document);
    wireHoursTick(document);
  });
  // Fragments swapped in by htmx bring their own checkboxes and hours boxes.
  document.addEventListener("htmx:afterSettle", function () {
    wireSelectAll(document);
    wireHoursTick(document);
  });
})();
