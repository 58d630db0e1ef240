// Usage charts of a client's page, drawn with Chart.js (vendored in lib/chart.js, MIT) from the
// page's JSON data block (#usage-data, the same report GET /clients/{name}/usage answers).
(() => {
  'use strict';
  const data = document.getElementById('usage-data');
  if (!data || typeof Chart === 'undefined') return;
  const report = JSON.parse(data.textContent);
  const days = report.days || [];
  const labels = days.map((day) => day.date.slice(5));
  const palette = ['#1f5fbf', '#17663a', '#b3541e', '#7a3fb0', '#a3211a', '#0f7c86', '#8a6d00', '#55595f'];

  // One stacked series per key of the per-day counts (endpoint, status, outcome).
  function series(pick) {
    const keys = [...new Set(days.flatMap((day) => Object.keys(pick(day) || {})))].sort();
    return keys.map((key, i) => ({
      label: key,
      data: days.map((day) => (pick(day) || {})[key] || 0),
      backgroundColor: palette[i % palette.length],
      stack: 'one',
    }));
  }

  const charts = {
    submits: series((day) => day.submits),
    video: [{ label: 'seconds of video', data: days.map((day) => day.video_seconds || 0), backgroundColor: palette[0] }],
    ended: series((day) => day.ended),
    deliveries: series((day) => day.deliveries),
  };

  document.querySelectorAll('canvas[data-chart]').forEach((canvas) => {
    const datasets = charts[canvas.getAttribute('data-chart')];
    if (!datasets) return;
    // eslint-disable-next-line no-new
    new Chart(canvas, {
      type: 'bar',
      data: { labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: datasets.length > 0, position: 'bottom' } },
      },
    });
    canvas.setAttribute('data-drawn', 'true');
  });
})();
