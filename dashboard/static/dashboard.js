// The live dashboard: every sample the server pushes (SSE, /events) goes into
// window.flashsaleSamples and redraws the uPlot charts in window.flashsaleCharts.
(function () {
  "use strict";
  const WINDOW = 300; // samples on screen: five minutes at one a second
  const samples = (window.flashsaleSamples = []);
  const charts = (window.flashsaleCharts = {});
  const number = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
  const C = {
    inbound: "#f0883e", admitted: "#3fb950", limited: "#ff7b72", soldout: "#a371f7",
    produced: "#58a6ff", consumed: "#39c5cf", written: "#f778ba", lag: "#8b98a5",
    stock: "#e3b341", workers: "#79c0ff",
  };
  const rate = (key) => (s) => s.rates[key];
  const level = (key) => (s) => s[key];
  const area = (color) => color + "55";

  // Each chart: its series (label, colour, how to read it from a sample, right axis?).
  const SPECS = {
    peak: [
      { label: "inbound/s", stroke: C.inbound, value: rate("inbound") },
      { label: "admitted/s", stroke: C.admitted, value: rate("admitted") },
      { label: "DB writes/s", stroke: C.written, value: rate("written"), width: 3 },
      { label: "queue backlog", stroke: C.lag, fill: area(C.lag), value: level("lag"), right: true },
    ],
    requests: [
      { label: "inbound/s", stroke: C.inbound, value: rate("inbound") },
      { label: "admitted/s", stroke: C.admitted, value: rate("admitted") },
      { label: "rate-limited/s", stroke: C.limited, value: rate("rate_limited") },
      { label: "sold out/s", stroke: C.soldout, value: rate("sold_out") },
    ],
    pipeline: [
      { label: "produced/s", stroke: C.produced, value: rate("produced") },
      { label: "consumed/s", stroke: C.consumed, value: rate("consumed") },
      { label: "DB writes/s", stroke: C.written, value: rate("written") },
    ],
    backlog: [{ label: "lag (messages)", stroke: C.lag, fill: area(C.lag), value: level("lag") }],
    stock: [
      { label: "stock left", stroke: C.stock, value: level("stock") },
      { label: "workers", stroke: C.workers, value: level("workers"), right: true },
    ],
  };

  const fromZero = (u, min, max) => [0, Math.max(1, max || 0) * 1.05];
  // Ticks of whole things (messages, workers): 1, 2, 5, 10, 20, 50, ...
  const WHOLE = [0, 1, 2, 3, 4, 5, 6, 7, 8].flatMap((k) => [1, 2, 5].map((m) => m * 10 ** k));

  function options(name, element) {
    const spec = SPECS[name];
    const axes = [{ stroke: "#8b98a5", grid: { stroke: "#263040" } },
      { stroke: "#8b98a5", grid: { stroke: "#263040" }, size: 60 }];
    if (spec.some((s) => s.right)) {
      axes.push({ scale: "right", side: 1, stroke: "#8b98a5", grid: { show: false }, size: 60,
        incrs: WHOLE });
    }
    return {
      width: Math.max(300, element.clientWidth - 4),
      height: name === "peak" ? 280 : 220,
      scales: { x: { time: true }, y: { range: fromZero }, right: { range: fromZero } },
      series: [{}, ...spec.map((s) => ({
        label: s.label, stroke: s.stroke, fill: s.fill, width: s.width || 2,
        scale: s.right ? "right" : "y",
      }))],
      axes,
    };
  }

  function columns(name) {
    const shown = samples.slice(-WINDOW);
    return [shown.map((s) => s.t), ...SPECS[name].map((s) => shown.map((x) => s.value(x) ?? null))];
  }

  function build() {
    if (typeof uPlot === "undefined") {
      document.getElementById("missing-uplot").hidden = false;
      return;
    }
    for (const name of Object.keys(SPECS)) {
      const element = document.getElementById("chart-" + name);
      charts[name] = new uPlot(options(name, element), columns(name), element);
    }
    window.addEventListener("resize", () => {
      for (const [name, chart] of Object.entries(charts)) {
        const element = document.getElementById("chart-" + name);
        chart.setSize({ width: Math.max(300, element.clientWidth - 4), height: chart.height });
      }
    });
  }

  function text(id, value) {
    const element = document.getElementById(id);
    if (element) element.textContent = value === null || value === undefined ? "–" : number.format(value);
  }

  function showCounters(s) {
    for (const [key, value] of Object.entries(s.totals)) text("total-" + key, value);
    for (const key of ["lag", "peak_lag", "stock", "workers"]) text("now-" + key, s[key]);
    const pressure = document.getElementById("now-backpressure");
    pressure.textContent = s.backpressure == null ? "–" : s.backpressure ? "on" : "off";
    pressure.style.color = s.backpressure ? "var(--bad)" : "";
    document.getElementById("sale").textContent = s.sale || "none active";
    document.getElementById("clock").textContent = new Date(s.t * 1000).toLocaleTimeString();
  }

  function showChecks(checks) {
    if (!checks) return;
    const when = new Date(checks.at * 1000).toLocaleTimeString();
    document.getElementById("checks-scope").textContent = `(${checks.scope}, ${when})`;
    const list = document.getElementById("checks");
    list.replaceChildren(...checks.checks.map((c) => {
      const item = document.createElement("li");
      item.className = c.ok ? "ok" : "bad";
      item.textContent = (c.ok ? "✓ " : "✗ ") + c.name.replaceAll("_", " ");
      return item;
    }));
  }

  function receive(sample) {
    samples.push(sample);
    if (samples.length > WINDOW * 2) samples.splice(0, samples.length - WINDOW);
    for (const name of Object.keys(charts)) charts[name].setData(columns(name));
    showCounters(sample);
    showChecks(sample.checks);
  }

  function connect() {
    const events = new EventSource("/events"); // reconnects by itself, with Last-Event-ID
    const link = document.getElementById("link");
    const linkText = document.getElementById("link-text");
    events.onopen = () => { link.className = "dot up"; linkText.textContent = "live"; };
    events.onerror = () => { link.className = "dot down"; linkText.textContent = "reconnecting…"; };
    events.onmessage = (event) => receive(JSON.parse(event.data));
  }

  build();
  connect();
})();
