// Bring the highlighted clause into view (the #hl fragment does it too, without scripts).
// A file, not an inline script: the Content-Security-Policy allows scripts from 'self' only.
const mark = document.getElementById("hl");
if (mark) mark.scrollIntoView({block: "center"});
