// Time left on the staff pages, counted down in the browser between server refreshes.
//
// Every element with data-due (an ISO time) shows "<span> lagi" / "terlambat <span>" in the
// words of the closest [data-now] container, which also carries the server's time when the
// fragment was rendered: the browser's own clock is used only for the time passed since then, so
// a wrong clock on a field officer's phone does not change the deadline shown.
(function () {
  "use strict";

  function duration(minutes, words) {
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var parts = [];
    if (days) { parts.push(days + " " + words.day); }
    if (hours) { parts.push(hours + " " + words.hour); }
    if (mins || !parts.length) { parts.push(mins + " " + words.minute); }
    return parts.slice(0, 2).join(" ");
  }

  function anchor(box) {
    // Remember, per rendered fragment, which browser moment the server's "now" corresponds to.
    if (!box.sopAnchor || box.sopAnchor.text !== box.dataset.now) {
      box.sopAnchor = { text: box.dataset.now, server: Date.parse(box.dataset.now), local: Date.now() };
    }
    return box.sopAnchor;
  }

  function tick() {
    var boxes = document.querySelectorAll("[data-now]");
    for (var b = 0; b < boxes.length; b++) {
      var box = boxes[b];
      var a = anchor(box);
      if (isNaN(a.server)) { continue; }
      var now = a.server + (Date.now() - a.local);
      var words = {
        left: box.dataset.left, late: box.dataset.late,
        day: box.dataset.day, hour: box.dataset.hour, minute: box.dataset.minute
      };
      var items = box.querySelectorAll("[data-due]");
      for (var i = 0; i < items.length; i++) {
        var el = items[i];
        var due = Date.parse(el.dataset.due);
        if (isNaN(due)) { continue; }
        var late = now > due;
        var minutes = Math.floor(Math.abs(due - now) / 60000);
        var text = (late ? words.late : words.left).replace("{}", duration(minutes, words));
        if (el.textContent !== text) { el.textContent = text; }
        if (late) {
          el.classList.add("late");
          var row = el.closest("tr");
          if (row) { row.classList.add("breached"); }
        }
      }
    }
  }

  tick();
  window.setInterval(tick, 1000);
})();
