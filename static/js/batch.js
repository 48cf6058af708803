// Batch page, progressive enhancement: sends the file with an upload progress bar, shows "Traitement…" while the
// server scores it, then a summary and a download link for the scored CSV. Without this script the form works
// as is: the browser downloads the scored file itself (or shows the page listing the errors).
(function () {
  "use strict";
  if (!window.FormData || !window.XMLHttpRequest || !window.DOMParser || !window.URL || !URL.createObjectURL) {
    return;
  }
  var lastDownload = null;

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
    xhr.responseType = "blob";
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) bar.value = Math.round((100 * event.loaded) / event.total);
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100;
      status.textContent = "Traitement… Les lignes sont vérifiées puis évaluées, cela peut prendre quelques secondes.";
    });
    xhr.addEventListener("load", function () {
      button.disabled = false;
      progress.hidden = true;
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (xhr.status === 200 && type.indexOf("text/csv") === 0) {
        showScored(xhr, status);
      } else {
        xhr.response.text().then(showPage);
      }
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

  function showScored(xhr, status) {
    var summary = JSON.parse(xhr.getResponseHeader("X-Batch-Summary") || "{}");
    var match = /filename="?([^";]+)"?/.exec(xhr.getResponseHeader("Content-Disposition") || "");
    if (lastDownload) URL.revokeObjectURL(lastDownload);
    lastDownload = URL.createObjectURL(xhr.response);

    var card = element("section", { class: "card", "aria-labelledby": "resume-titre" });
    card.append(element("h2", { id: "resume-titre" }, "Fichier évalué"));
    var list = element("dl", { class: "batch-summary" });
    [["Lignes évaluées et enregistrées", summary.lignes], ["Départ probable (« Part »)", summary.part],
     ["Risque faible", summary.faible], ["Risque modéré", summary.modere], ["Risque élevé", summary.eleve]]
      .forEach(function (item) {
        var row = element("div");
        row.append(element("dt", {}, item[0]), element("dd", {}, String(item[1])));
        list.append(row);
      });
    card.append(list);
    card.append(element("p", { class: "muted" }, "Colonnes reconnues : " + summary.format + " ; séparateur « " +
      summary.separateur + " » ; encodage " + summary.encodage + "."));
    var link = element("a", { class: "button", href: lastDownload, download: match ? match[1] : "predictions.csv" },
      "Télécharger le fichier évalué");
    card.append(element("p", {}, link));
    var result = document.getElementById("resultat");
    result.replaceChildren(card);
    status.textContent = summary.lignes + " lignes évaluées ; le téléchargement du fichier commence.";
    result.focus();
    link.click();
  }

  function showPage(html) {
    // The server answered a page (errors by line, refused file, CSRF or model errors): show its content here.
    var page = new DOMParser().parseFromString(html, "text/html");
    var main = document.querySelector("main");
    main.replaceChildren.apply(main, Array.from(page.querySelector("main").childNodes));
    document.title = page.title;
    var target = document.getElementById("probleme") || main.querySelector("[aria-invalid=true]") ||
      (document.getElementById("resultat") && document.getElementById("resultat").children.length
        ? document.getElementById("resultat") : main.querySelector("h1"));
    if (target) {
      if (!target.hasAttribute("tabindex") && !/^(INPUT|BUTTON|A)$/.test(target.tagName)) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (typeof text === "string") node.textContent = text;
    else if (text) node.append(text);
    return node;
  }
})();
