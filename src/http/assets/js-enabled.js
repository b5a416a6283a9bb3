// Replaces GOV.UK Frontend's inline bootstrap (our CSP allows no inline script): marks the page as
// having JavaScript so components style themselves for it. Loaded synchronously at the top of <body>.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
