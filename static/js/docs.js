// Swagger UI for /docs, pointed at the OpenAPI document whose URL the page gives in data-url (no inline script,
// so that the Content-Security-Policy can forbid them). Swagger UI has no translations: its fixed English
// labels are replaced by French ones as it draws them (exact matches only, so the API's own texts are untouched),
// a plugin and fixMarkup below correct what axe-core reports in its markup.
(function () {
  "use strict";
  var FRENCH = {
    "Authorize": "Autoriser",
    "Available authorizations": "Autorisations disponibles",
    "Cancel": "Annuler",
    "Clear": "Effacer",
    "Close": "Fermer",
    "Code": "Code",
    "Collapse all": "Tout replier",
    "Copy to clipboard": "Copier",
    "Curl": "Commande curl",
    "Description": "Description",
    "Details": "Détails",
    "Download": "Télécharger",
    "Example Value": "Exemple",
    "Execute": "Envoyer",
    "Expand all": "Tout déplier",
    "Links": "Liens",
    "Logout": "Se déconnecter",
    "Media type": "Type de contenu",
    "Controls Accept header.": "Fixe l'en-tête Accept.",
    "No links": "Aucun lien",
    "No parameters": "Aucun paramètre",
    "Parameters": "Paramètres",
    "Request URL": "Adresse de la requête",
    "Request body": "Corps de la requête",
    "Request duration": "Durée de la requête",
    "Response body": "Corps de la réponse",
    "Response headers": "En-têtes de la réponse",
    "Responses": "Réponses",
    "Schema": "Schéma",
    "Schemas": "Schémas",
    "Server response": "Réponse du serveur",
    "Servers": "Serveurs",
    "Try it out": "Essayer",
    "Try it out ": "Essayer",
    "Value:": "Valeur\u202f:",
    "Name:": "Nom\u202f:",
    "In:": "Dans\u202f:",
    "required": "obligatoire",
    "Undocumented": "Non documenté",
    "Loading...": "Chargement…",
    "Failed to load API definition.": "Le document OpenAPI n'a pas pu être chargé.",
    "Send empty value": "Envoyer une valeur vide",
    "Edit Value": "Modifier",
    "Examples:": "Exemples\u202f:",
    "Headers:": "En-têtes\u202f:",
    "Name": "Nom",
    "Controls": "Fixe l'en-tête",
    "header.": ".",
    "authorization button unlocked": "Autorisation non fournie",
    "authorization button locked": "Autorisation fournie",
    "Expand operation": "Déplier l'opération",
    "Collapse operation": "Replier l'opération",
    "Example Value Schema": "Exemple Schéma"
  };
  var ATTRIBUTES = ["aria-label", "title"];

  function translateText(node) {
    var key = node.nodeValue.trim();
    if (Object.prototype.hasOwnProperty.call(FRENCH, key) && FRENCH[key] !== key) {
      node.nodeValue = node.nodeValue.replace(key, FRENCH[key]);
    }
  }

  function translateElement(element) {
    fixMarkup(element);
    ATTRIBUTES.forEach(function (name) {
      var value = element.getAttribute(name);
      if (value && Object.prototype.hasOwnProperty.call(FRENCH, value.trim())) {
        element.setAttribute(name, FRENCH[value.trim()]);
      }
    });
  }

  // What axe-core reports in Swagger UI's markup, fixed element by element: fields and icon buttons without a
  // name, regions that share one, code blocks that scroll but cannot take the keyboard focus.
  function fixMarkup(element) {
    var tag = element.tagName;
    if (/^(SELECT|TEXTAREA|INPUT)$/.test(tag) && !element.getAttribute("aria-label")) {
      var parameter = element.closest("tr[data-param-name]");
      var field = element.id === "servers" ? "Serveur"
        : element.classList.contains("examples-select-element") ? "Exemple"
        : element.classList.contains("body-param__text") ? "Corps de la requête"
        : parameter ? "Valeur de " + parameter.getAttribute("data-param-name")
        : null;
      if (field) element.setAttribute("aria-label", field);
    } else if (tag === "BUTTON" && !element.textContent.trim() && !element.getAttribute("aria-label")) {
      var button = element.closest(".copy-to-clipboard") ? "Copier"
        : element.classList.contains("close-modal") ? "Fermer"
        : null;
      if (button) element.setAttribute("aria-label", button);
    } else if (tag === "TABLE" && element.getAttribute("role") === "region" && !element.getAttribute("aria-label")) {
      var operation = element.closest(".opblock");
      var summary = operation ? operation.querySelector(".opblock-summary-control") : null;
      var what = element.classList.contains("live-responses-table") ? "Réponse reçue" : "Réponses documentées";
      element.setAttribute("aria-label", what + (summary ? " : " + summary.textContent : ""));
    } else if (tag === "PRE" && element.classList.contains("microlight") && !element.hasAttribute("tabindex")) {
      element.setAttribute("tabindex", "0");
    }
  }

  function translate(root) {
    if (root.nodeType === Node.TEXT_NODE) {
      translateText(root);
      return;
    }
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    translateElement(root);
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) translateText(node);
      else translateElement(node);
    }
  }

  // A heading between Swagger UI's title (h1) and its sections (h3), so that levels never skip one.
  function HeadingPlugin(system) {
    return {
      wrapComponents: {
        InfoContainer: function (Original) {
          return function (props) {
            var h = system.React.createElement;
            return h("div", null, h(Original, props), h("h2", { className: "visually-hidden" }, "Opérations"));
          };
        }
      }
    };
  }

  var root = document.getElementById("swagger-ui");
  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      if (mutation.type === "characterData") translateText(mutation.target);
      else if (mutation.type === "attributes") translateElement(mutation.target);
      else mutation.addedNodes.forEach(translate);
    });
  }).observe(root, {
    childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ATTRIBUTES
  });
  window.ui = SwaggerUIBundle({
    url: root.dataset.url,
    dom_id: "#swagger-ui",
    deepLinking: false, // a link inside each operation's button is a control inside a control (axe)
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [HeadingPlugin],
    layout: "BaseLayout",
    validatorUrl: null,
    tryItOutEnabled: false,
    displayRequestDuration: true,
    syntaxHighlight: { activated: true, theme: "idea" } // the default theme's numbers are too faint (axe)
  });
})();
