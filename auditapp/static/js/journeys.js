// Journey builder enhancements. Every page works without this file: the move buttons are plain POST forms.
(function () {
  "use strict";

  // English words, replaced by the page's <meta name="ui-text-journeys"> tag when there is one.
  var T = { moment: "Moment {n}", moved: "{name} moved to position {n}.", item: "Item" };
  try {
    var block = document.querySelector("meta[name=ui-text-journeys]");
    var given = block ? JSON.parse(block.content) : {};
    Object.keys(given).forEach(function (key) { if (key in T) { T[key] = given[key]; } });
  } catch (e) { /* keep English */ }
  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) { return name in values ? String(values[name]) : all; });
  }

  var live = document.createElement("p");
  live.className = "visually-hidden";
  live.setAttribute("aria-live", "polite");
  document.body.appendChild(live);

  function announce(text) {
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  // Refresh what depends on the order: step numbers and which move buttons make sense.
  function refresh(list) {
    var items = Array.prototype.filter.call(list.children, function (li) { return li.querySelector(".js-move"); });
    items.forEach(function (li, index) {
      var step = li.querySelector(".moment-step");
      if (step) { step.textContent = fmt(T.moment, { n: index + 1 }); }
      var buttons = li.querySelectorAll(".js-move button");
      if (buttons.length === 2) {
        buttons[0].disabled = index === 0;
        buttons[1].disabled = index === items.length - 1;
      }
    });
  }

  function moveInPlace(list, order) {
    var byId = {};
    Array.prototype.forEach.call(list.children, function (li) { byId[li.getAttribute("data-id")] = li; });
    order.forEach(function (id) {
      var li = byId[String(id)];
      if (li) { list.appendChild(li); }
    });
    refresh(list);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("js-move") || !window.fetch || !window.FormData) { return; }
    var list = form.closest("[data-reorder]");
    var item = form.closest("[data-id]");
    if (!list || !item) { return; }
    event.preventDefault();
    var direction = form.querySelector("input[name=direction]").value;
    var token = form.querySelector("input[name=csrf_token]");
    var headers = { "Accept": "application/json" };
    if (token) { headers["X-CSRFToken"] = token.value; }
    fetch(form.action, { method: "POST", body: new FormData(form), headers: headers, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 409) {
          // Another manager started a draft first: nothing was saved. Resending the form would apply the move to
          // their draft, so go to it instead (the page shows why).
          return response.json().then(function (data) {
            if (data && data.url) { window.location.assign(data.url); return null; }
            throw new Error("HTTP 409");
          });
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (data === null) { return; }
        if (data.reload) { window.location.reload(); return; }
        moveInPlace(list, data.order || []);
        // Keep the keyboard where it was: on the same button, or on its partner when this one is now disabled.
        var buttons = item.querySelectorAll(".js-move button");
        var wanted = direction === "up" ? buttons[0] : buttons[1];
        var other = direction === "up" ? buttons[1] : buttons[0];
        (wanted && !wanted.disabled ? wanted : other).focus();
        var name = item.querySelector(".moment-name, .question-text");
        var position = Array.prototype.indexOf.call(list.children, item) + 1;
        announce(fmt(T.moved, { name: name ? name.textContent.trim() : T.item, n: position }));
      })
      .catch(function () { form.submit(); }); // fall back to the plain POST and a page load
  });

  // Question form: show the options field for choice questions and the target field for number questions.
  var qform = document.querySelector("[data-question-form]");
  if (qform) {
    var type = qform.querySelector("select[name=type]");
    var toggle = function () {
      qform.querySelectorAll("[data-for-type]").forEach(function (box) {
        var input = box.querySelector("input");
        var keep = box.getAttribute("data-for-type") === type.value ||
          (input && input.value.trim() !== "") || box.querySelector(".error");
        box.hidden = !keep;
      });
    };
    if (type) {
      type.addEventListener("change", toggle);
      toggle();
    }
  }
})();
