// Live preview of a form being filled: derived values and the approval route, computed on the
// server by the same rules the archive checks. The page works without it.
(function () {
  "use strict";
  function preview(form) {
    var url = form.getAttribute("data-preview");
    if (!url) { return; }
    var data = new FormData(form);
    fetch(url, { method: "POST", body: data, credentials: "same-origin",
                 headers: { "X-CSRF-Token": data.get("csrf") || "" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer) { return; }
        Object.keys(answer.values).forEach(function (id) {
          var el = document.querySelector('[data-derived="' + id + '"]');
          if (el) { el.textContent = answer.values[id]; }
        });
        var route = document.getElementById("route");
        if (route) { route.textContent = answer.route; }
        document.querySelectorAll("[data-error-for]").forEach(function (el) {
          var id = el.getAttribute("data-error-for");
          el.textContent = (answer.touched.indexOf(id) >= 0 && answer.problems[id]) || "";
        });
      })
      .catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-preview]").forEach(function (form) {
      var timer = null;
      form.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { preview(form); }, 250);
      });
      form.addEventListener("change", function () { preview(form); });
    });
  });
})();

// Long work started from a page (a rebuild, a verify): how far it got, until it is done, then
// the page again with its result.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("job");
    var bar = document.getElementById("job-progress");
    if (!box || !bar) { return; }
    var step = document.getElementById("job-step");
    var timer = setInterval(function () {
      fetch(box.getAttribute("data-progress"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          if (!job.running) { clearInterval(timer); window.location.reload(); return; }
          if (job.total) {
            bar.max = job.total;
            bar.value = job.done;
            step.textContent = job.done + "/" + job.total + " " + job.name;
          } else {
            step.textContent = "已用 " + job.seconds + " 秒";
          }
        })
        .catch(function () {});
    }, 1000);
  });
})();
