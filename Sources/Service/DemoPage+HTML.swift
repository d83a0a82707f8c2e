extension DemoPage {
    /// The page's markup. Controls are real `<label>`/`<input>`/`<select>`/`<button>`
    /// elements so the page works from the keyboard and with a screen reader.
    static let body: String = #"""
    <header class="top">
      <h1>VAEGuard <span>attack &amp; purify demo</span></h1>
      <p class="lead">Attack an image white-box against the bare classifier (FGSM or PGD), purify the attacked
        image with a VAE (Luo &amp; Pfister 2018) or JPEG, and compare what the classifier says about each.</p>
      <nav aria-label="API">
        <a href="/v1/models">GET /v1/models</a>
        <a href="/metrics">/metrics</a>
        <a href="/openapi.yaml">API reference (OpenAPI)</a>
        <span>(<code>POST /v1/attack</code>, <code>POST /v1/classify</code>, <code>POST /v1/purify</code>; guide: <code>docs/API.md</code>)</span>
      </nav>
    </header>

    <main>
      <form id="controls" class="panel" novalidate>
        <fieldset>
          <legend>1. Image</legend>
          <div id="samples-list" class="thumbs" role="group" aria-label="Sample images"></div>
          <div id="drop" class="drop">
            <label for="file">Or use your own PNG or JPEG:</label>
            <input id="file" type="file" accept="image/png,image/jpeg">
            <p class="hint">…or drag and drop an image file here.</p>
          </div>
          <p class="current">Selected: <strong id="current-image">none</strong></p>
        </fieldset>

        <fieldset>
          <legend>2. Model and defense</legend>
          <div class="row">
            <div class="field">
              <label for="model">Model</label>
              <select id="model" name="model"><option value="">loading…</option></select>
            </div>
            <div class="field">
              <label for="purifier">Purifier</label>
              <select id="purifier" name="purifier">
                <option value="none">none (undefended)</option>
                <option value="jpeg">JPEG</option>
                <option value="vae" selected>VAE</option>
                <option value="patch-vae">patch VAE</option>
              </select>
            </div>
          </div>
          <div class="row">
            <div class="field">
              <label for="samples">Samples (K)</label>
              <input id="samples" name="samples" type="number" min="1" max="16" step="1" value="1" inputmode="numeric">
            </div>
            <div class="field" id="quality-field">
              <label for="quality">JPEG quality <output id="quality-out" for="quality">23</output></label>
              <input id="quality" name="quality" type="range" min="1" max="100" step="1" value="23">
            </div>
          </div>
        </fieldset>

        <fieldset>
          <legend>3. Attack</legend>
          <div class="row">
            <div class="field">
              <label for="attack">Attack</label>
              <select id="attack" name="attack">
                <option value="none">none</option>
                <option value="fgsm" selected>FGSM</option>
                <option value="pgd">PGD</option>
              </select>
            </div>
            <div class="field" id="steps-field">
              <label for="steps">PGD steps</label>
              <input id="steps" name="steps" type="number" min="1" max="100" step="1" value="20" inputmode="numeric">
            </div>
          </div>
          <div class="field" id="eps-field">
            <label for="eps">ε (L∞) <output id="eps-out" for="eps">0.200</output></label>
            <input id="eps" name="eps" type="range" min="0.005" max="0.5" step="0.005" value="0.2">
          </div>
          <div class="field">
            <label><input id="certify" name="certify" type="checkbox"> Certify the original (randomized smoothing,
              <span class="hint">n=<input id="certify-n" name="n" type="number" min="1" max="10000" step="1" value="200"
              inputmode="numeric" aria-label="Noisy samples n"></span>)</label>
          </div>
        </fieldset>

        <button id="run" type="submit" class="run">Run</button>
        <p id="status" class="status" role="status" aria-live="polite"></p>
        <details class="access">
          <summary>API key</summary>
          <div class="field">
            <label for="apikey">Key for deployments with auth <span class="hint">(optional, sent as X-API-Key)</span></label>
            <input id="apikey" name="apikey" type="password" autocomplete="off" spellcheck="false">
          </div>
        </details>
      </form>

      <section id="results" class="results" aria-label="Results" aria-busy="false">
        <div class="cards">
          <article class="card" id="card-original">
            <h2>Original</h2>
            <img id="img-original" alt="Original image at model resolution" width="224" height="224">
            <ol class="preds" id="labels-original" aria-label="Top-3 predictions for the original"></ol>
            <p class="score" id="score-original"></p>
          </article>
          <article class="card" id="card-adversarial">
            <h2>Attacked</h2>
            <img id="img-adversarial" alt="Adversarial image" width="224" height="224">
            <ol class="preds" id="labels-adversarial" aria-label="Top-3 predictions for the attacked image"></ol>
            <p class="score" id="score-adversarial"></p>
          </article>
          <article class="card" id="card-purified">
            <h2>Purified</h2>
            <img id="img-purified" alt="Purified adversarial image" width="224" height="224">
            <ol class="preds" id="labels-purified" aria-label="Top-3 predictions for the purified image"></ol>
            <p class="score" id="score-purified"></p>
          </article>
        </div>
        <p id="summary" class="summary"></p>
        <p id="certificate" class="summary" hidden></p>
        <p class="note">Original and attacked images are classified by the bare classifier; the purified image is
          what the defended pipeline sees. Reconstruction error: mean squared difference between an image and its
          purification; above the model's threshold the image is flagged as suspected adversarial.</p>
      </section>
    </main>
    <pre id="js-errors" hidden></pre>
    """#

    static let style: String = #"""
    :root { --bg: #f6f7f9; --fg: #1b1f24; --muted: #5b6470; --card: #fff; --line: #d5dae1; --accent: #1f5fbf;
      --ok: #1d7a3a; --bad: #b3261e; --bar: #8fb4ea; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
    .top { padding: 14px 24px 8px; border-bottom: 1px solid var(--line); background: var(--card); }
    h1 { margin: 0; font-size: 1.35rem; } h1 span { font-weight: 400; color: var(--muted); }
    .lead { margin: 4px 0; color: var(--muted); max-width: 70rem; }
    nav { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: .9rem; }
    a { color: var(--accent); }
    code { font-size: .85em; background: #eef1f5; padding: 0 3px; border-radius: 3px; }
    main { display: grid; grid-template-columns: minmax(260px, 330px) 1fr; gap: 18px; padding: 16px 24px; align-items: start; }
    .panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
    fieldset { min-width: 0; border: 0; border-bottom: 1px solid var(--line); margin: 0; padding: 6px 0 10px; }
    legend { font-weight: 600; padding: 0; margin-bottom: 4px; }
    .row { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0 10px; }
    .field { display: flex; min-width: 0; flex-direction: column; gap: 2px; margin: 6px 0; }
    label { font-size: .9rem; }
    select, input[type=number], input[type=password] { font: inherit; padding: 4px 6px; border: 1px solid #aab2bd; border-radius: 5px; background: #fff; }
    input[type=range] { width: 100%; }
    output { font-variant-numeric: tabular-nums; font-weight: 600; }
    .hint { color: var(--muted); font-size: .82rem; margin: 2px 0; }
    .thumbs { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 6px; }
    .thumb { min-width: 0; padding: 2px; border: 2px solid transparent; border-radius: 6px; background: #e9edf2; cursor: pointer; }
    .thumb img { display: block; width: 100%; height: auto; aspect-ratio: 1; image-rendering: pixelated; }
    .thumb[aria-pressed=true] { border-color: var(--accent); background: #dbe7fb; }
    .drop { margin-top: 8px; padding: 8px; border: 2px dashed #aab2bd; border-radius: 6px; }
    .drop.over { border-color: var(--accent); background: #eef4ff; }
    .drop input { max-width: 100%; font-size: .85rem; }
    .current { margin: 6px 0 0; font-size: .85rem; overflow-wrap: anywhere; }
    .run { margin-top: 12px; width: 100%; font: inherit; font-weight: 600; padding: 8px; border: 0; border-radius: 6px;
      background: var(--accent); color: #fff; cursor: pointer; }
    .run:disabled { opacity: .6; cursor: progress; }
    :focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
    .access { margin-top: 6px; font-size: .9rem; }
    .access summary { cursor: pointer; color: var(--muted); }
    .status { min-height: 1.4em; margin: 8px 0 0; font-size: .9rem; }
    .status.error { color: var(--bad); font-weight: 600; }
    .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 14px; }
    .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
    .card h2 { margin: 0 0 6px; font-size: 1.05rem; }
    .card img { display: block; width: 100%; max-width: 280px; height: auto; aspect-ratio: 1; margin: 0 auto;
      image-rendering: pixelated; background: repeating-conic-gradient(#e4e7eb 0 25%, #f4f5f7 0 50%) 0 0 / 16px 16px;
      border: 1px solid var(--line); }
    .preds { list-style: none; padding: 0; margin: 8px 0 4px; }
    .preds li { display: grid; grid-template-columns: minmax(4.5em, auto) 1fr 3.6em; gap: 6px; align-items: center; font-size: .9rem; margin: 3px 0; }
    .preds .label { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .preds .track { display: block; height: 10px; background: #edf0f4; border-radius: 5px; overflow: hidden; }
    .preds .fill { display: block; height: 100%; width: 0; background: var(--bar); }
    .preds li:first-child .fill { background: var(--accent); }
    .preds .pct { text-align: right; font-variant-numeric: tabular-nums; }
    .score { margin: 6px 0 0; font-size: .88rem; }
    .flag { display: inline-block; padding: 0 6px; border-radius: 9px; font-size: .8rem; font-weight: 600; color: #fff; }
    .flag.yes { background: var(--bad); } .flag.no { background: var(--ok); }
    .summary { margin: 12px 0 4px; font-size: .95rem; }
    .note { color: var(--muted); font-size: .82rem; margin: 4px 0; }
    [hidden] { display: none !important; }
    @media (max-width: 760px) {
      main { grid-template-columns: 1fr; padding: 10px; }
      .top { padding: 10px; }
    }
    """#
}
