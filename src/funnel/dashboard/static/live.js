// The live panels: a snapshot of every service every few seconds, kept for a quarter of an
// hour, drawn as the Grafana dashboards draw Prometheus's data.

import { COLOURS, timeChart } from "./charts.js";
import { bytes, count, el, fillRows, latency, moment, pairRows, rate, span } from "./format.js";
import { increase, max, perSecond, quantile, serviceTotal, sum, windowStart } from "./samples.js";

const POLL_MS = 2000;
const KEEP_SECONDS = 15 * 60;
// As Grafana's `increase(…[1m])` per minute and `rate(…[$__rate_interval])` for latency.
const RATE_WINDOW_SECONDS = 60;
const LATENCY_WINDOW_SECONDS = 30;
const STORED_WINDOW_SECONDS = 10;

const GATEWAY = "funnel_gateway_events";
const COLLECTOR = "funnel_collector_events";
const LATENCY = "funnel_reporter_request_duration_seconds";
const CATEGORIES = ["events", "revenue", "demographics"];
const STORES = [["raw", "raw events"], ["summaries", "summaries"], ["stream", "stream"],
  ["dead_letters", "dead letters"]];

const byId = (id) => document.getElementById(id);

/** One point per snapshot: `measure(then, now)` over a window ending at each snapshot,
 *  computed once per snapshot and `key` (the history before a snapshot never changes). */
function pointsOver(history, key, seconds, measure) {
  return history.map((now, i) => {
    now.points ??= new Map();
    if (!now.points.has(key)) {
      const then = windowStart(history.slice(0, i + 1), seconds);
      now.points.set(key, then == null ? null : measure(then, now));
    }
    return now.points.get(key);
  });
}

function drawGateway(last) {
  // A labelled counter has no sample before its first event: a gateway that answers
  // (its unlabelled series are always there) has counted none yet.
  const answering = last.services.some((service) =>
    service.samples.some((sample) => sample.name.startsWith("funnel_gateway_")));
  for (const kind of ["accepted", "processed", "failed"]) {
    const total = sum(last, `${GATEWAY}_${kind}_total`);
    byId(`gw-${kind}`).textContent = count(total ?? (answering ? 0 : null));
  }
}

function drawReadiness(last) {
  fillRows(byId("readiness"), last.services.map((service) => {
    const checks = Object.entries(service.checks).map(([name, result]) =>
      el("span", { class: result === "ok" ? null : "bad" }, `${name}: ${result}`));
    // A full EVENTS keeps the gateway ready (every replica shares the stream) but refuses
    // webhooks unread: say so beside its checks.
    if (serviceTotal(service, "funnel_gateway_stream_full") === 1) {
      checks.push(el("span", { class: "bad" }, "EVENTS full: webhooks refused"));
    }
    if (service.error) checks.push(el("span", { class: "bad" }, service.error));
    return el("tr", { "data-service": service.name, "data-ready": String(service.ready) },
      el("td", {}, service.name),
      el("td", { class: service.ready ? "ok" : "bad" }, service.ready ? "ready" : "not ready"),
      el("td", { class: "checks" }, checks.flatMap((check, i) => (i ? [", ", check] : [check]))));
  }));
}

function drawCollectors(history, last) {
  const then = windowStart(history, STORED_WINDOW_SECONDS);
  const collectors = last.services.filter(
    (service) => serviceTotal(service, `${COLLECTOR}_processed_total`) != null);
  fillRows(byId("collectors"), collectors.map((service) => el("tr", { "data-service": service.name },
    el("td", {}, service.name),
    el("td", { class: "num" }, count(serviceTotal(service, "funnel_collector_consumer_pending_messages"))),
    el("td", { class: "num" }, count(serviceTotal(service, "funnel_collector_consumer_ack_pending_messages"))),
    el("td", { class: "num" }, then == null ? "–"
      : rate(perSecond(then, last, `${COLLECTOR}_processed_total`, {}, service.name))))));
}

function drawStorage(last) {
  fillRows(byId("storage"), pairRows(STORES.map(([store, label]) =>
    [label, bytes(max(last, "funnel_storage_bytes", { store }))])));
}

function drawRetention(last) {
  const size = max(last, "funnel_retention_size_bytes");
  // Every collector reads the same database: their figures agree, and 0 means "none yet".
  const oldest = max(last, "funnel_retention_oldest_event_seconds") || null;
  fillRows(byId("retention"), pairRows([
    ["time", span(max(last, "funnel_retention_time_seconds"))],
    ["size", size === 0 ? "unbounded" : bytes(size)],
    ["oldest raw event", oldest == null ? "n/a" : moment(oldest)],
    ["dropped events", count(max(last, "funnel_retention_dropped_events_total"))],
  ]));
}

/** Starts polling; the panels stay hidden when the server names no services. */
export function startLive() {
  const history = [];
  const rates = timeChart(byId("chart-rates"), [
    { label: "accepted", colour: COLOURS[0] },
    { label: "processed", colour: COLOURS[1] },
    { label: "failed", colour: COLOURS[2] },
  ], { stacked: true });
  const latencies = timeChart(byId("chart-latency"), CATEGORIES.flatMap((category, i) => [
    { label: `${category} p95`, colour: COLOURS[i + 3], format: latency },
    { label: `${category} p50`, colour: COLOURS[i + 3], dash: [4, 4], format: latency },
  ]), { axis: latency });

  function draw() {
    const last = history[history.length - 1];
    const xs = history.map((snapshot) => snapshot.at);
    drawGateway(last);
    rates(xs, ["accepted", "processed", "failed"].map((kind) =>
      pointsOver(history, kind, RATE_WINDOW_SECONDS, (then, now) => {
        const grown = increase(then, now, `${COLLECTOR}_${kind}_total`);
        return grown == null ? null : (grown / (now.at - then.at)) * 60;
      })));
    latencies(xs, CATEGORIES.flatMap((category) => [0.95, 0.5].map((q) =>
      pointsOver(history, `${category} ${q}`, LATENCY_WINDOW_SECONDS,
        (then, now) => quantile(q, then, now, LATENCY, { category })))));
    drawReadiness(last);
    drawCollectors(history, last);
    drawStorage(last);
    drawRetention(last);
  }

  async function poll() {
    const status = byId("live-status");
    try {
      const response = await fetch("api/live", { cache: "no-store" });
      if (!response.ok) throw new Error(`live: HTTP ${response.status}`);
      const snapshot = await response.json();
      const off = snapshot.services.length === 0;
      byId("live-off").hidden = !off;
      byId("live-panels").hidden = off;
      if (off) {
        status.textContent = "reports only";
        return;
      }
      history.push(snapshot);
      while (history[0].at < snapshot.at - KEEP_SECONDS) history.shift();
      draw();
      status.textContent = `live · updated ${moment(snapshot.at)}`;
    } catch (error) {
      status.textContent = `live data unavailable: ${error.message}`;
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }
  poll();
}
