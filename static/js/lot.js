// A job's page (a lot, a purge), progressive enhancement: while it runs, its JSON status is read every 1.5 s and
// the progress bar and counts follow; once it ends, the page reloads to show the outcome. Without this script, a
// reload does it.
(function () {
  "use strict";

  var problem = document.getElementById("probleme");
  if (problem) problem.focus(); // a refused file: read out first
  var section = document.getElementById("avancement");
  if (!section || section.getAttribute("data-finished") === "oui" || !window.fetch) return;
  var url = section.getAttribute("data-lot-status");
  var number = new Intl.NumberFormat("fr-FR");

  function set(name, text) {
    var element = section.querySelector('[data-field="' + name + '"]');
    if (element) element.textContent = text;
  }

  function show(state) {
    if (state.termine) {
      window.location.reload();
      return;
    }
    set("statut_libelle", state.statut_libelle);
    set("phase_libelle", state.phase_libelle);
    var bar = document.getElementById("barre-lot");
    if (bar) {
      bar.value = state.pourcent;
      bar.textContent = state.pourcent + " %";
    }
    set("lignes_verifiees", number.format(state.lignes_verifiees));
    set("lignes_evaluees", number.format(state.lignes_evaluees) +
      (state.a_evaluer ? " sur " + number.format(state.a_evaluer) : ""));
    set("temps_restant", state.secondes_restantes === null ? "—" : number.format(state.secondes_restantes) + " s");
    window.setTimeout(poll, 1500);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) throw new Error(answer.status);
        return answer.json();
      })
      .then(show)
      .catch(function () { window.setTimeout(poll, 5000); }); // offline or server busy: try again later
  }

  window.setTimeout(poll, 1500);
})();
