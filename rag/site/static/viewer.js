// Document viewer: bring the highlighted clause into view (the #hl fragment does it too, without
// scripts, but lands it at the very top under the sticky breadcrumbs).
"use strict";
const mark = document.getElementById("hl");
if (mark) mark.scrollIntoView({block: "center"});
