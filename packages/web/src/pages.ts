// The three pages as HTML shells: the navigation, the page's containers, Vega, Vega-Lite and
// vega-embed from node_modules (never a CDN), and the page's compiled module. Everything else the
// page fetches from the JSON API.
export type PageName = 'playground' | 'runs' | 'studies';

const TITLES: Record<PageName, string> = {
  playground: 'Attack playground',
  runs: 'Training runs',
  studies: 'Study explorer',
};

const BODIES: Record<PageName, string> = {
  playground: `
<section class="panel" id="setup">
  <form id="attack-form" autocomplete="off">
    <fieldset>
      <legend>Image</legend>
      <label><input type="radio" name="image-source" value="dataset" checked> test image of
        <select id="dataset"><option value="mnist">MNIST</option><option value="fashion-mnist">Fashion-MNIST</option></select></label>
      <label>index <input id="image-index" type="number" min="0" value="0" step="1"></label>
      <button type="button" id="random-image">random</button>
      <label><input type="radio" name="image-source" value="upload"> upload (PNG or JPEG)
        <input id="upload" type="file" accept="image/png,image/jpeg"></label>
      <div id="image-note" class="note"></div>
    </fieldset>
    <fieldset>
      <legend>Model</legend>
      <label>zoo model <select id="model"></select></label>
      <label>trained on <select id="trained-on"></select></label>
      <label>weights <select id="checkpoint"></select></label>
      <label>seed <input id="seed" type="number" min="0" value="0" step="1"></label>
    </fieldset>
    <fieldset>
      <legend>Attack</legend>
      <label>attack <select id="attack"></select></label>
      <span id="attack-paper" class="note"></span>
      <div id="attack-params"></div>
      <label>mode <select id="mode"></select></label>
      <label id="target-label">target class <input id="target" type="number" min="0" value="0" step="1"></label>
    </fieldset>
    <div class="actions">
      <button type="submit" id="run-attack">Run attack</button>
      <button type="button" id="cancel-attack" disabled>Cancel</button>
      <span id="attack-status" role="status"></span>
    </div>
  </form>
</section>
<section class="panel" id="result">
  <div class="pictures">
    <figure><img id="img-original" alt="original" data-role="original"><figcaption>original · <span id="clean-label"></span></figcaption></figure>
    <figure><img id="img-perturbation" alt="perturbation" data-role="perturbation"><figcaption>perturbation <span id="perturbation-note"></span></figcaption></figure>
    <figure><img id="img-adversarial" alt="adversarial" data-role="adversarial"><figcaption>adversarial · <span id="adv-label"></span></figcaption></figure>
  </div>
  <p id="summary"></p>
  <p><a id="download" download="adversarial.png" hidden>Download the adversarial PNG</a></p>
  <div class="charts">
    <div id="chart-before" class="chart"></div>
    <div id="chart-after" class="chart"></div>
    <div id="chart-loss" class="chart"></div>
  </div>
</section>`,
  runs: `
<section class="panel">
  <table id="runs-table" class="list">
    <thead><tr><th>run</th><th>status</th><th>epochs</th><th>model</th><th>defense</th><th>last loss</th><th>test clean</th><th>test robust</th><th>updated</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="runs-note" class="note"></p>
</section>
<section class="panel" id="run-detail" hidden>
  <h2 id="run-title"></h2>
  <p id="run-meta"></p>
  <div class="charts">
    <div id="chart-run-loss" class="chart"></div>
    <div id="chart-run-accuracy" class="chart"></div>
  </div>
  <h3>Checkpoints</h3>
  <ul id="run-checkpoints"></ul>
</section>`,
  studies: `
<section class="panel">
  <label>study <select id="study"></select></label>
  <span id="study-counts" class="note"></span>
  <p id="study-description" class="note"></p>
  <div id="filters"></div>
</section>
<section class="panel" id="study-body" hidden>
  <div id="measure-row"><label>measure <select id="measure"></select></label>
    <span class="note">Click a point to open its run; click a measure in the table to plot it.</span></div>
  <div class="charts">
    <div id="chart-scatter" class="chart"></div>
    <div id="chart-robust" class="chart"></div>
  </div>
  <h3>Kendall τ between each measure and the robust generalization gap</h3>
  <table id="tau-table" class="list"><thead></thead><tbody></tbody></table>
  <ul id="study-notes" class="note"></ul>
</section>`,
};

export function renderPage(page: PageName): string {
  const nav = (Object.keys(TITLES) as PageName[])
    .map((p) => `<a href="${p === 'playground' ? '/' : `/${p}`}"${p === page ? ' aria-current="page"' : ''}>${TITLES[p]}</a>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLES[page]} · robusta</title>
<link rel="stylesheet" href="/app/style.css">
<script src="/vendor/vega.min.js"></script>
<script src="/vendor/vega-lite.min.js"></script>
<script src="/vendor/vega-embed.min.js"></script>
<script type="module" src="/app/${page}.js"></script>
</head>
<body data-page="${page}">
<header>
  <strong>robusta</strong>
  <nav>${nav}</nav>
  <span id="token-state" class="note"></span>
</header>
<main>
<h1>${TITLES[page]}</h1>
<div id="error" role="alert" hidden></div>
${BODIES[page]}
</main>
</body>
</html>
`;
}
