// The reports: a form of every filter the three reports take, kept in the page's URL so a
// view can be shared; any change asks the reporter again, and so does a timer.

import { timeChart, COLOURS } from "./charts.js";
import { count, el, fillRows, span } from "./format.js";

const REFRESH_MS = 10000;
const DEFAULT_INTERVAL = "minute";
const SECONDS = { minute: 60, hour: 3600, day: 86400 };
const COMMON = ["from", "to", "source"];
const PARAMS = {
  events: [...COMMON, "funnelStage", "eventType", "interval"],
  revenue: [...COMMON, "campaignId"],
  demographics: COMMON,
};
const FIELDS = [...new Set(Object.values(PARAMS).flat())];

const byId = (id) => document.getElementById(id);
const form = () => byId("filters");

/** The filters as the page's URL holds them; `interval` absent means the default. */
function filtersFromUrl() {
  const params = new URLSearchParams(window.location.search);
  const filters = Object.fromEntries(FIELDS.map((name) => [name, params.get(name) ?? ""]));
  if (!params.has("interval")) filters.interval = DEFAULT_INTERVAL;
  // A shared link may carry an offset; the inputs hold UTC wall-clock times.
  for (const name of ["from", "to"]) filters[name] = filters[name].replace(/(Z|[+-]00:?00)$/, "");
  return filters;
}

function filtersFromForm() {
  const data = new FormData(form());
  return Object.fromEntries(FIELDS.map((name) => [name, String(data.get(name) ?? "").trim()]));
}

function pageQuery(filters) {
  const params = new URLSearchParams();
  for (const name of FIELDS) {
    // The default interval is left out; an empty one is kept, so "no series" survives a
    // reload instead of turning back into the default.
    const value = filters[name];
    if (name === "interval" ? value !== DEFAULT_INTERVAL : value) params.set(name, value);
  }
  return params.toString();
}

function reportQuery(report, filters) {
  const params = new URLSearchParams();
  for (const name of PARAMS[report]) if (filters[name]) params.set(name, filters[name]);
  return params.toString();
}

function options(select, values, keep) {
  const first = select.options[0];
  select.replaceChildren(first, ...values.map((value) => el("option", { value }, value)));
  select.value = values.includes(keep) ? keep : "";
}

/** Event types offered are those the chosen source and stage have, as the API checks. */
function offerEventTypes(catalog) {
  const { source, funnelStage, eventType } = filtersFromForm();
  const fits = catalog.eventKinds.filter((kind) =>
    (!source || kind.source === source) && (!funnelStage || kind.funnelStage === funnelStage));
  options(form().elements.eventType, [...new Set(fits.map((kind) => kind.eventType))].sort(), eventType);
}

function fillForm(catalog, filters) {
  const { elements } = form();
  options(elements.source, [...new Set(catalog.eventKinds.map((kind) => kind.source))], filters.source);
  options(elements.funnelStage, [...new Set(catalog.eventKinds.map((kind) => kind.funnelStage))],
    filters.funnelStage);
  options(elements.interval, catalog.intervals, filters.interval);
  for (const name of ["from", "to", "campaignId"]) elements[name].value = filters[name];
  // Every type first, so the URL's choice is selected; then only those its source and stage have.
  options(elements.eventType, [...new Set(catalog.eventKinds.map((kind) => kind.eventType))].sort(),
    filters.eventType);
  offerEventTypes(catalog);
}

function bars(title, entries) {
  const top = Math.max(1, ...entries.map(([, value]) => value));
  return el("div", { class: "bars", "data-title": title },
    el("div", { class: "title" }, title),
    entries.map(([name, value]) => el("div", { class: "bar" },
      el("span", { class: "name", title: name }, name),
      el("span", { class: "track" }, el("span", { class: "fill", style: `width: ${(100 * value) / top}%; display: block` })),
      el("span", { class: "count" }, count(value)))));
}

function drawEvents(report, chart) {
  byId("events-total").textContent = count(report.total);
  byId("events-by-source").textContent = Object.entries(report.bySource)
    .map(([source, n]) => `${source} ${count(n)}`).join(" · ");
  byId("events-by-stage").textContent = Object.entries(report.byFunnelStage)
    .map(([stage, n]) => `${stage} ${count(n)}`).join(" · ");
  const series = report.series ?? [];
  byId("chart-events").hidden = report.series == null;
  chart(series.map((point) => Date.parse(point.start) / 1000), [series.map((point) => point.count)],
    SECONDS[report.filters.interval] ?? 0);
  fillRows(byId("events-table"), report.byEventType.map((row) => el("tr", {},
    el("td", {}, row.source), el("td", {}, row.funnelStage), el("td", {}, row.eventType),
    el("td", { class: "num" }, count(row.count)))));
}

function drawRevenue(report, chooseCampaign) {
  byId("revenue-total").textContent = report.totalRevenue;
  byId("revenue-transactions").textContent = count(report.transactions);
  byId("revenue-average").textContent = report.averageOrderValue;
  byId("revenue-by-source").textContent = report.bySource
    .map((row) => `${row.source} ${row.revenue} (${count(row.transactions)})`).join(" · ") || "–";
  const rows = report.topCampaigns.map((row) => el("tr", {},
    el("td", {}, el("button", { type: "button", class: "campaign", title: "show only this campaign",
      onclick: () => chooseCampaign(row.campaignId) }, row.campaignId)),
    el("td", { class: "num" }, row.revenue),
    el("td", { class: "num" }, count(row.transactions))));
  // TikTok purchases name no campaign, so a TikTok-only view has none.
  fillRows(byId("top-campaigns"), rows.length ? rows
    : [el("tr", {}, el("td", { class: "muted", colspan: "3" }, "no campaign in this range"))]);
}

const entries = (counts) => Object.entries(counts);
const ranked = (rows, name) => rows.map((row) => [name(row), row.users]);

function drawDemographics(report) {
  const parts = [];
  if (report.facebook) {
    const fb = report.facebook;
    parts.push(el("div", { id: "demographics-facebook" },
      el("h4", {}, "Facebook: ", el("span", { id: "facebook-users" }, count(fb.users)), " users"),
      bars("gender", entries(fb.gender)),
      bars("age", entries(fb.ageGroups)),
      bars("top countries", ranked(fb.topCountries, (row) => row.country)),
      bars("top cities", ranked(fb.topCities, (row) => `${row.city}, ${row.country}`))));
  }
  if (report.tiktok) {
    const ttk = report.tiktok;
    const { min, median, avg, max } = ttk.followers;
    parts.push(el("div", { id: "demographics-tiktok" },
      el("h4", {}, "TikTok: ", el("span", { id: "tiktok-users" }, count(ttk.users)), " users"),
      el("p", { class: "muted small" },
        `followers: min ${count(min)} · median ${count(median)} · mean ${count(avg)} · max ${count(max)}`),
      bars("followers", entries(ttk.followerTiers)),
      bars("devices", entries(ttk.devices)),
      bars("top countries", ranked(ttk.topCountries, (row) => row.country))));
  }
  if (report.usersExact === false) {
    // The write path knows a user's events as one user's only within the repeat window.
    parts.push(el("p", { id: "demographics-inexact", class: "muted small" },
      `users are counted once within ${span(report.usersExactWithinSeconds)}: over this longer`
      + " range a user whose events lie further apart may count more than once"));
  }
  byId("demographics").replaceChildren(...parts);
}

function showErrors(problems) {
  const box = byId("report-errors");
  box.hidden = problems.length === 0;
  box.replaceChildren(...problems.map((problem) => el("div", {}, problem)));
}

async function ask(report, filters) {
  const response = await fetch(`/reports/${report}?${reportQuery(report, filters)}`);
  const body = await response.json().catch(() => ({}));
  if (response.ok) return body;
  const details = (body.details ?? []).map((detail) => `${report}: ${detail.param} ${detail.message}`);
  throw new Error(details.join("\n") || `${report}: ${body.error ?? `HTTP ${response.status}`}`);
}

/** Fills the form from the URL, then keeps the three reports current. */
export async function startReports() {
  const catalog = await (await fetch("api/catalog")).json();
  const eventsChart = timeChart(byId("chart-events"),
    [{ label: "events", colour: COLOURS[0] }], { bars: true });
  let asked = 0;
  let inFlight = false;

  async function refresh() {
    const filters = filtersFromForm();
    const query = pageQuery(filters);
    const mine = ++asked;
    inFlight = true;
    try {
      const answers = await Promise.allSettled(Object.keys(PARAMS).map((r) => ask(r, filters)));
      if (mine !== asked) return; // a newer question is on its way
      const [events, revenue, demographics] = answers;
      if (events.status === "fulfilled") drawEvents(events.value, eventsChart);
      if (revenue.status === "fulfilled") drawRevenue(revenue.value, chooseCampaign);
      if (demographics.status === "fulfilled") drawDemographics(demographics.value);
      showErrors(answers.filter((a) => a.status === "rejected").flatMap((a) => a.reason.message.split("\n")));
      byId("reports").dataset.query = query;
    } finally {
      if (mine === asked) inFlight = false;
    }
  }

  function changed() {
    offerEventTypes(catalog);
    const query = pageQuery(filtersFromForm());
    window.history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
    refresh();
  }

  function chooseCampaign(campaignId) {
    form().elements.campaignId.value = campaignId;
    changed();
  }

  fillForm(catalog, filtersFromUrl());
  form().addEventListener("change", changed);
  form().addEventListener("submit", (event) => { event.preventDefault(); changed(); });
  form().addEventListener("reset", (event) => {
    event.preventDefault();
    fillForm(catalog, { ...Object.fromEntries(FIELDS.map((name) => [name, ""])), interval: DEFAULT_INTERVAL });
    changed();
  });
  await refresh();
  setInterval(() => { if (!inFlight) refresh(); }, REFRESH_MS);
}
