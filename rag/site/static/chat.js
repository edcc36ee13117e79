// 政策问答 chat page. Talks to POST /api/ask/stream (server-sent events: "delta" pieces of text,
// then one "answer" event with the full JSON answer). Every piece of user or corpus text is
// inserted with textContent, never as HTML.
"use strict";

const log = document.getElementById("log");
const form = document.getElementById("ask");
const input = document.getElementById("question");
const send = document.getElementById("send");
const statusBox = document.getElementById("status");
let ready = false;
let busy = false;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function scrollToEnd() {
  window.scrollTo(0, document.body.scrollHeight);
}

function setStatus(message) {
  statusBox.hidden = !message;
  statusBox.textContent = message || "";
}

function updateButton() {
  send.disabled = !ready || busy || !input.value.trim();
}

async function waitUntilReady() {
  for (;;) {
    try {
      const res = await fetch("/healthz");
      const body = await res.json();
      if (res.ok) {
        ready = true;
        setStatus("");
        updateButton();
        askFromLink();
        return;
      }
      setStatus(body.error === "LoadFailed" ? "服务无法加载索引：" + body.detail
                                            : "正在加载索引和模型，请稍候…");
      if (body.error === "LoadFailed") return;
    } catch (e) {
      setStatus("无法连接服务器，正在重试…");
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
}

// The filter box (rendered by the server when the index is loaded): empty fields do not filter.
const filterBox = document.getElementById("filters");

function chosenFilters() {
  const chosen = {};
  if (!filterBox) return chosen;
  const value = (name) => filterBox.querySelector(`[name=${name}]`).value;
  if (value("issuer")) chosen.issuer = value("issuer");
  if (value("kind")) chosen.kinds = [value("kind")];
  if (value("date_from")) chosen.date_from = value("date_from");
  if (value("date_to")) chosen.date_to = value("date_to");
  if (value("doc")) chosen.doc_ids = [value("doc")];
  return chosen;
}

function showFilterCount() {
  const n = Object.keys(chosenFilters()).length;
  document.getElementById("filter-count").textContent = n ? `（${n} 项）` : "";
}

if (filterBox) {
  filterBox.addEventListener("change", showFilterCount);
  document.getElementById("clear-filters").addEventListener("click", () => {
    filterBox.querySelectorAll("select, input").forEach((field) => { field.value = ""; });
    showFilterCount();
  });
}

function addUser(question) {
  const row = el("div", "msg user");
  row.appendChild(el("div", "bubble", question));
  log.appendChild(row);
}

function addPending() {
  const row = el("div", "msg answer pending");
  const bubble = el("div", "bubble");
  const text = el("p", "answer-text", "正在检索…");
  bubble.appendChild(text);
  row.appendChild(bubble);
  log.appendChild(row);
  return {row, bubble, text};
}

function citationLink(c, n) {
  const a = el("a", "chip");
  a.href = "/docs/" + encodeURIComponent(c.doc_id) + "?start=" + c.start + "&end=" + c.end + "#hl";
  a.appendChild(el("span", "n", "[" + n + "]"));
  a.appendChild(el("span", "title", "《" + c.title + "》"));
  a.appendChild(el("span", "path", c.clause_path || "正文"));
  a.title = c.text;
  return a;
}

function plainText(answer) {
  const refs = answer.citations.map(
    (c, i) => "[" + (i + 1) + "] 《" + c.title + "》" + (c.clause_path || "正文"));
  return answer.answer + (refs.length ? "\n" + refs.join("\n") : "");
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {  // older browsers or an insecure origin
    const area = el("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "已复制";
  setTimeout(() => { button.textContent = "复制"; }, 1500);
}

function renderAnswer(view, answer) {
  const {row, bubble} = view;
  row.classList.remove("pending");
  const state = answer.found ? "found" : answer.intent === "unclear" ? "unclear" : "notfound";
  row.classList.add(state);
  bubble.textContent = "";
  const badges = {found: "已找到依据", unclear: "请补充问题", notfound: "未找到明确规定"};
  bubble.appendChild(el("span", "badge", badges[state]));
  const text = el("p", "answer-text");
  const cut = answer.answer.indexOf("依据：");  // "区医保局。依据：《…》…": the conclusion in bold
  if (answer.found && cut > 0) {
    text.appendChild(el("strong", "", answer.answer.slice(0, cut)));
    text.appendChild(el("span", "basis", answer.answer.slice(cut)));
  } else {
    text.textContent = answer.answer;
  }
  bubble.appendChild(text);
  if (answer.citations.length) {
    bubble.appendChild(el("p", "refs-title", answer.found ? "引用条款" : "可能相关的条款"));
    const chips = el("div", "chips");
    answer.citations.forEach((c, i) => chips.appendChild(citationLink(c, i + 1)));
    bubble.appendChild(chips);
  }
  const tools = el("div", "tools");
  const copy = el("button", "copy", "复制");
  copy.type = "button";
  copy.addEventListener("click", () => copyText(plainText(answer), copy));
  tools.appendChild(copy);
  tools.appendChild(el("span", "latency", Math.round(answer.latency_ms) + " ms"));
  bubble.appendChild(tools);
}

function renderError(view, message) {
  view.row.classList.remove("pending");
  view.bubble.textContent = "";
  view.bubble.appendChild(el("p", "error", message));
}

async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

async function ask(question) {
  busy = true;
  updateButton();
  addUser(question);
  const view = addPending();
  scrollToEnd();
  try {
    const res = await fetch("/api/ask/stream", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({question, ...chosenFilters()}),
    });
    if (!res.ok) {
      let detail = res.status + " " + res.statusText;
      try { detail = (await res.json()).detail || detail; } catch (e) { /* not JSON */ }
      renderError(view, "出错了：" + detail);
      return;
    }
    let streamed = "";
    await readEvents(res, (name, data) => {
      if (name === "delta") {
        streamed += data.text;
        view.text.textContent = streamed;
        scrollToEnd();
      } else if (name === "answer") {
        renderAnswer(view, data);
      }
    });
  } catch (e) {
    renderError(view, "网络错误：" + e.message);
  } finally {
    busy = false;
    updateButton();
    scrollToEnd();
  }
}

// Chat tools link long answers back here as /?q=<question>: ask it once the server is ready.
function askFromLink() {
  const question = new URLSearchParams(window.location.search).get("q");
  if (question && question.trim()) {
    history.replaceState(null, "", window.location.pathname);
    ask(question.trim().slice(0, 500));
  }
}

function submit() {
  const question = input.value.trim();
  if (!question || busy || !ready) return;
  input.value = "";
  autosize();
  ask(question);
}

function autosize() {
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 144) + "px";
  updateButton();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
});
input.addEventListener("keydown", (event) => {
  // Enter sends; Shift+Enter is a new line; Enter that confirms an IME candidate does nothing.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    submit();
  }
});
input.addEventListener("input", autosize);
document.querySelectorAll(".example").forEach((button) => {
  button.addEventListener("click", () => {
    input.value = button.textContent;
    submit();
  });
});
updateButton();
waitUntilReady();
