// Start Swagger UI on GET /api/docs (api/docs.c) over this server's own
// OpenAPI document. A file, not an inline script, so the page's
// Content-Security-Policy can stay "script-src 'self'".
'use strict';

window.addEventListener('load', function () {
  if (typeof window.SwaggerUIBundle !== 'function') return; // the page's text explains
  window.ui = window.SwaggerUIBundle({
    url: '/api/openapi.yaml',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
    plugins: [window.SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    // Every operation opens ready to send; Authorize keeps its token across reloads.
    tryItOutEnabled: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    // Swagger UI would otherwise ask a public validator about the document.
    validatorUrl: null,
  });
});
