// Charts for the usage and billing pages, drawn with Chart.js (served from our own static files).
// Each <canvas data-chart="ID"> reads its figures from the json_script element ID; every chart has
// the same figures in a table next to it for screen readers and for copying.
(() => {
  "use strict";
  const palette = ["#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9", "#1098ad", "#f08c00", "#c92a2a"];
  const money = (value) => `$${Number(value).toFixed(2)}`;

  function usageChart(canvas, data) {
    return new Chart(canvas, {
      data: {
        labels: data.days.map((day) => day.slice(5)),
        datasets: [
          { type: "bar", label: "Spent (USD)", data: data.spend, backgroundColor: palette[0], yAxisID: "spend" },
          { type: "line", label: "Images", data: data.images, borderColor: palette[1], backgroundColor: palette[1], yAxisID: "images", tension: 0.2 },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          spend: { position: "left", beginAtZero: true, ticks: { callback: money } },
          images: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
        },
        plugins: { tooltip: { callbacks: { label: (item) => item.dataset.yAxisID === "spend" ? `Spent ${money(item.raw)}` : `${item.raw} images` } } },
      },
    });
  }

  // The billing dashboard: one line per team (spend per day), images per size, the failure mix.
  function seriesChart(canvas, data) {
    const kind = canvas.dataset.kind || "line";
    return new Chart(canvas, {
      type: kind,
      data: {
        labels: data.labels,
        datasets: data.series.map((series, index) => ({
          label: series.label,
          data: series.values,
          borderColor: palette[index % palette.length],
          backgroundColor: kind === "doughnut" ? palette : palette[index % palette.length],
          tension: 0.2,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: kind === "doughnut" ? {} : { y: { beginAtZero: true, ticks: canvas.dataset.money ? { callback: money } : { precision: 0 } } },
      },
    });
  }

  function draw() {
    if (typeof Chart === "undefined") return;
    for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) continue;
      const data = JSON.parse(source.textContent);
      if (data.days) usageChart(canvas, data); else seriesChart(canvas, data);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
