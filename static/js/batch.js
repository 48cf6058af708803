// Batch page, progressive enhancement: sends the file with an upload progress bar, then opens the lot's page the
// server answers (or shows its refusal in place). Without this script the form works as is. A refused file takes
// the focus.
(function () {
  "use strict";

  focusProblem(document);
  if (!window.FormData || !window.XMLHttpRequest || !window.DOMParser) return;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-batch-form]")) return;
    var input = form.querySelector("input[type=file]");
    if (!input || !input.files.length) return; // the server answers with the field's message
    event.preventDefault();
    var maxBytes = Number(form.getAttribute("data-max-bytes"));
    if (maxBytes && input.files[0].size > maxBytes) { // refused before sending megabytes for nothing
      document.getElementById("etat").textContent = "Fichier trop volumineux : " +
        Math.round(maxBytes / 1048576) + " Mo au plus. Découpez-le en plusieurs fichiers.";
      return;
    }
    send(form);
  });

  function send(form) {
    var progress = document.getElementById("progression");
    var bar = document.getElementById("barre-envoi");
    var status = document.getElementById("etat");
    var button = form.querySelector("button[type=submit]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) bar.value = Math.round((100 * event.loaded) / event.total);
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100;
      status.textContent = "Fichier reçu : ouverture de la page du lot…";
    });
    xhr.addEventListener("load", function () {
      // Accepted: the server answered the lot's page (after its 303); open it at its own address.
      if (xhr.responseURL && /\/lots\/[^/]+$/.test(new URL(xhr.responseURL).pathname)) {
        window.location.assign(xhr.responseURL);
        return;
      }
      button.disabled = false;
      progress.hidden = true;
      showPage(xhr.responseText);
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      progress.hidden = true;
      status.textContent = "Envoi impossible : vérifiez la connexion, puis réessayez.";
    });
    document.getElementById("resultat").replaceChildren();
    bar.value = 0;
    progress.hidden = false;
    button.disabled = true;
    status.textContent = "Envoi du fichier…";
    xhr.send(new FormData(form));
  }

  function showPage(html) {
    // The server answered a page (result, errors by line, refused file, CSRF or model errors): show its content.
    var page = new DOMParser().parseFromString(html, "text/html");
    var main = document.querySelector("main");
    var content = page.querySelector("main");
    if (!content) return;
    main.replaceChildren.apply(main, Array.from(content.childNodes));
    document.title = page.title;
    if (!focusProblem(document)) {
      var result = document.getElementById("resultat");
      var target = result && result.children.length ? result : main.querySelector("h1");
      if (target) target.focus();
    }
  }

  function focusProblem(root) {
    // A refused file, a field in error or the errors by line: focus it so that it is read out first.
    var target = root.getElementById("probleme") || root.querySelector("main [aria-invalid=true]") ||
      (root.getElementById("erreurs-titre") && root.getElementById("resultat"));
    if (!target) return false;
    if (!target.hasAttribute("tabindex") && !/^(INPUT|BUTTON|A)$/.test(target.tagName)) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
    return true;
  }
})();
