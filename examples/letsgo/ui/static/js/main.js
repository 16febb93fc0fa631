// The app's own script, allowed by its CSP as 'self'.
document.addEventListener("DOMContentLoaded", function () { document.body.setAttribute("data-main-js", "ran"); });
