// 文件库管理: upload, list, delete, re-ingest through the admin JSON routes. The page holds no data
// of its own; an admin key typed here stays in this tab (sessionStorage) and is sent as Bearer.
// Every piece of text is inserted with textContent.
"use strict";

const $ = (id) => document.getElementById(id);
let polling = false;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function headers() {
  const key = sessionStorage.getItem("pqa-admin-key");
  return key ? {Authorization: "Bearer " + key} : {};
}

async function call(method, path, body) {
  const res = await fetch(path, {method, headers: headers(), body});
  let data = null;
  try { data = await res.json(); } catch (e) { /* empty body */ }
  if (res.status === 401 || res.status === 403) {
    $("auth").hidden = false;
    $("manage").hidden = true;
    throw new Error((data && data.detail) || "需要管理员权限");
  }
  if (!res.ok) throw new Error((data && data.detail) || res.status + " " + res.statusText);
  return data;
}

function say(text, bad) {
  $("message").textContent = text;
  $("message").classList.toggle("error", !!bad);
}

function showIngest(status) {
  const box = $("ingest");
  box.hidden = status.state === "idle";
  const states = {running: status.phase || "收录中", done: "收录完成", failed: "收录失败"};
  $("phase").textContent = states[status.state] || "";
  const bar = $("bar");
  if (status.state === "running" && status.total) {
    bar.max = status.total;
    bar.value = status.done;
    $("count").textContent = status.done + " / " + status.total;
  } else {
    bar.removeAttribute("value");  // indeterminate while reading files or loading
    if (status.state !== "running") { bar.max = 1; bar.value = 1; }
    $("count").textContent = status.state === "running" ? "" : status.message;
  }
  box.classList.toggle("failed", status.state === "failed");
  box.dataset.state = status.state;
}

function showDocuments(data) {
  const body = $("docs").querySelector("tbody");
  body.textContent = "";
  for (const d of data.documents) {
    const row = el("tr");
    const title = el("td");
    const link = el("a", d.title);
    link.href = "/docs/" + encodeURIComponent(d.id);
    title.appendChild(link);
    row.appendChild(title);
    for (const value of [d.issuer, d.number, d.date, d.kind, d.format]) {
      row.appendChild(el("td", value || "—"));
    }
    row.appendChild(el("td", String(d.chunks), "num"));
    row.appendChild(el("td", d.warnings.join("；")));
    const cell = el("td");
    const remove = el("button", "删除", "delete");
    remove.type = "button";
    remove.addEventListener("click", () => removeDocument(d));
    cell.appendChild(remove);
    row.appendChild(cell);
    body.appendChild(row);
  }
  const skipped = $("skipped");
  skipped.textContent = "";
  if (data.skipped.length) {
    skipped.appendChild(el("h2", "未能收录的文件"));
    const list = el("ul");
    for (const s of data.skipped) list.appendChild(el("li", s.file + "：" + s.reason));
    skipped.appendChild(list);
  }
}

async function refresh() {
  const data = await call("GET", "/api/library");
  $("auth").hidden = true;
  $("manage").hidden = false;
  showDocuments(data);
  showIngest(data.ingest);
  if (data.ingest.state === "running") poll();
}

async function poll() {
  if (polling) return;
  polling = true;
  try {
    for (;;) {
      const status = await call("GET", "/api/ingest");
      showIngest(status);
      if (status.state !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
  } finally {
    polling = false;
  }
  await refresh().catch((e) => say(e.message, true));
}

async function upload(fileList) {
  if (!fileList.length) return;
  const form = new FormData();
  for (const f of fileList) form.append("files", f, f.name);
  say("正在上传并检查 " + fileList.length + " 个文件…");
  try {
    const data = await call("POST", "/api/docs", form);
    say("已加入文件库：" + data.saved.join("、") + "，正在收录…");
    showIngest(data.ingest);
    poll();
  } catch (e) {
    say("上传失败：" + e.message, true);
  }
}

async function removeDocument(d) {
  if (!confirm("从文件库删除《" + d.title + "》？（原文件会移到回收站）")) return;
  try {
    const data = await call("DELETE", "/api/docs/" + encodeURIComponent(d.id));
    say("已删除《" + d.title + "》，正在重新收录…");
    showIngest(data.ingest);
    poll();
  } catch (e) {
    say("删除失败：" + e.message, true);
  }
}

$("files").addEventListener("change", (e) => upload(e.target.files));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  upload(e.dataTransfer.files);
});
$("reingest").addEventListener("click", async () => {
  try {
    showIngest(await call("POST", "/api/ingest"));
    poll();
  } catch (e) {
    say(e.message, true);
  }
});
$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem("pqa-admin-key", $("key").value.trim());
  refresh().catch((err) => say(err.message, true));
});
refresh().catch((e) => say(e.message, true));
