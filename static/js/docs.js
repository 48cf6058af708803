// Swagger UI for /docs, pointed at the OpenAPI document whose URL the page gives in data-url (no inline script,
// so that the Content-Security-Policy can forbid them).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    tryItOutEnabled: false,
    displayRequestDuration: true
  });
})();
