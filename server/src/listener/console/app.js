// The Strata console: polls the overview, draws it, plots rates and lag, tails a stream.
"use strict";

const POLL_MS = 2000;
const HISTORY = 60; // points kept per series (two minutes)
const TAIL_ROWS = 50;

const history = new Map(); // series key -> [{t, v}]
let previous = null;       // the last overview, for rates
let tail = null;           // the EventSource of the live tail

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows));
}

function num(value) {
  return el("td", { class: "num" }, value === null || value === undefined ? "–" : Number(value).toLocaleString());
}

function remember(key, t, v) {
  const points = history.get(key) ?? [];
  points.push({ t, v });
  while (points.length > HISTORY) points.shift();
  history.set(key, points);
  return points;
}

// A small line chart of one series, drawn on a canvas.
function chart(label, points, unit) {
  const width = 320, height = 90;
  const canvas = el("canvas", { width, height, class: "chart", "data-series": label });
  const context = canvas.getContext("2d");
  context.fillStyle = "#fbfcfd";
  context.fillRect(0, 0, width, height);
  const max = Math.max(1, ...points.map((p) => p.v));
  context.strokeStyle = "#dde1e6";
  context.strokeRect(0.5, 0.5, width - 1, height - 1);
  if (points.length > 1) {
    const t0 = points[0].t, t1 = points[points.length - 1].t;
    const span = Math.max(1, t1 - t0);
    context.strokeStyle = "#2f6fb5";
    context.lineWidth = 2;
    context.beginPath();
    points.forEach((p, i) => {
      const x = 4 + ((p.t - t0) / span) * (width - 8);
      const y = height - 4 - (p.v / max) * (height - 16);
      if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.stroke();
  }
  context.fillStyle = "#4a5563";
  context.font = "11px sans-serif";
  context.fillText(`max ${Math.round(max).toLocaleString()} ${unit}`, 6, 12);
  const last = points.length ? points[points.length - 1].v : 0;
  return el("figure", { class: "chart" }, canvas,
    el("figcaption", {}, `${label}: ${Math.round(last).toLocaleString()} ${unit}`));
}

function renderStreams(overview) {
  const box = document.getElementById("streams");
  if (!overview.streams.length) { box.replaceChildren(el("p", { class: "muted" }, "No streams.")); return; }
  const seconds = previous ? (overview.now_ms - previous.now_ms) / 1000 : 0;
  box.replaceChildren(...overview.streams.map((stream) => {
    const before = previous?.streams.find((s) => s.name === stream.name);
    const rate = before && seconds > 0 ? Math.max(0, (stream.records - before.records) / seconds) : 0;
    const rates = remember(`rate:${stream.name}`, overview.now_ms, rate);
    const charts = [chart("records/s", rates, "rec/s")];
    for (const consumer of stream.consumers) {
      if (consumer.millis_behind === null || consumer.millis_behind === undefined) continue;
      charts.push(chart(`lag of ${consumer.name}`,
        remember(`lag:${stream.name}:${consumer.name}`, overview.now_ms, consumer.millis_behind), "ms"));
    }
    const shards = table(["Shard", "Open", "Hash range", "Parents", "Records"], stream.shards.map((shard) =>
      el("tr", {}, el("td", {}, shard.id), el("td", {}, shard.open ? "open" : "closed"),
        el("td", { class: "data" }, `${shard.hash_start} – ${shard.hash_end}`),
        el("td", {}, [shard.parent, shard.adjacent_parent].filter(Boolean).join(", ") || "–"),
        num(shard.records))));
    const consumers = stream.consumers.length
      ? table(["Consumer", "Status", "MillisBehindLatest"], stream.consumers.map((c) =>
          el("tr", {}, el("td", {}, c.name), el("td", { class: `status-${c.status}` }, c.status), num(c.millis_behind))))
      : el("p", { class: "muted" }, "No consumers.");
    return el("div", { class: "card", "data-stream": stream.name },
      el("h3", {}, stream.name, " ", el("span", { class: `status-${stream.status}` }, stream.status), " ",
        el("button", { type: "button", class: "tail-button", onclick: () => startTail(stream.name) }, "Tail")),
      el("p", { class: "muted" }, `retention ${stream.retention_hours} h · ${stream.shards.length} shards · ${stream.records.toLocaleString()} records`),
      el("div", { class: "charts" }, ...charts), shards, consumers);
  }));
}

function renderDelivery(overview) {
  const box = document.getElementById("delivery");
  if (!overview.delivery_streams.length) { box.replaceChildren(el("p", { class: "muted" }, "No delivery streams.")); return; }
  box.replaceChildren(table(["Name", "Source", "Bucket", "Status", "Last error", "Freshness (s)", "Records in", "Delivered", "Objects", "Failures"],
    overview.delivery_streams.map((d) => el("tr", {}, el("td", {}, d.name), el("td", {}, d.source), el("td", {}, d.bucket),
      el("td", { class: `status-${d.status}` }, d.status), el("td", { class: d.failure ? "failing" : "" }, d.failure ? d.failure.details : "–"),
      num(Math.round(d.freshness_ms / 1000)), num(d.records_in), num(d.records_delivered), num(d.objects), num(d.failures)))));
}

function renderQueues(overview) {
  const box = document.getElementById("queues");
  if (!overview.queues.length) { box.replaceChildren(el("p", { class: "muted" }, "No queues.")); return; }
  box.replaceChildren(table(["Queue", "Visible", "In flight", "Delayed", "Oldest (s)", "Dead-letter queue", ""],
    overview.queues.map((q) => el("tr", { "data-queue": q.name }, el("td", {}, q.name), num(q.visible), num(q.in_flight), num(q.delayed),
      num(q.oldest_age_s), el("td", {}, q.dead_letter_queue ?? "–"),
      el("td", {}, el("button", { type: "button", onclick: () => peek(q.name) }, "Peek"))))));
}

function renderTopics(overview) {
  const box = document.getElementById("topics");
  if (!overview.topics.length) { box.replaceChildren(el("p", { class: "muted" }, "No topics.")); return; }
  box.replaceChildren(...overview.topics.map((topic) => el("div", { class: "card", "data-topic": topic.name },
    el("h3", {}, topic.name),
    topic.subscriptions.length
      ? table(["Protocol", "Endpoint", "Delivered", "Failed"], topic.subscriptions.map((s) =>
          el("tr", {}, el("td", {}, s.protocol), el("td", { class: "data" }, s.endpoint), num(s.delivered), num(s.failed))))
      : el("p", { class: "muted" }, "No subscriptions."))));
}

async function poll() {
  try {
    const answer = await fetch("/console/api/overview", { cache: "no-store" });
    if (!answer.ok) throw new Error(`overview: HTTP ${answer.status}`);
    const overview = await answer.json();
    renderStreams(overview);
    renderDelivery(overview);
    renderQueues(overview);
    renderTopics(overview);
    previous = overview;
    document.getElementById("updated").textContent = `updated ${new Date(overview.now_ms).toLocaleTimeString()}`;
    document.getElementById("error").hidden = true;
  } catch (error) {
    const box = document.getElementById("error");
    box.textContent = String(error.message ?? error);
    box.hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

async function peek(name) {
  const answer = await fetch(`/console/api/queue?name=${encodeURIComponent(name)}`, { cache: "no-store" });
  if (!answer.ok) return;
  const page = await answer.json();
  document.getElementById("peek-queue").textContent = name;
  document.getElementById("peek-rows").replaceChildren(...page.messages.map((m) =>
    el("tr", {}, num(m.offset), el("td", {}, m.state), num(m.receive_count), el("td", {}, m.group ?? "–"), el("td", { class: "data" }, m.body))));
  document.getElementById("peek").hidden = false;
}

function stopTail() {
  if (tail) tail.close();
  tail = null;
  document.getElementById("tail-section").hidden = true;
}

function startTail(stream) {
  stopTail();
  document.getElementById("tail-stream").textContent = stream;
  const rows = document.querySelector("#tail tbody");
  rows.replaceChildren();
  document.getElementById("tail-section").hidden = false;
  tail = new EventSource(`/console/api/tail?stream=${encodeURIComponent(stream)}`);
  tail.onmessage = (event) => {
    const record = JSON.parse(event.data);
    rows.prepend(el("tr", { class: "tail-record" }, el("td", {}, record.shard), num(record.offset),
      el("td", {}, new Date(record.timestamp_ms).toLocaleTimeString()), el("td", {}, record.key), el("td", { class: "data" }, record.data)));
    while (rows.children.length > TAIL_ROWS) rows.lastChild.remove();
  };
  tail.addEventListener("end", () => stopTail());
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("tail-stop").addEventListener("click", stopTail);
  const wanted = new URLSearchParams(location.search).get("tail");
  if (wanted) startTail(wanted);
  poll();
});
