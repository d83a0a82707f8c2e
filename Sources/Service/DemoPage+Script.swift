extension DemoPage {
    /// The page's JavaScript (no framework, no build step). Query parameters preset the
    /// controls: `model`, `sample`, `purifier`, `quality`, `samples`, `attack`, `eps`, `steps`,
    /// `seed`, `certify=1` (also certify the original); `autorun=1` runs once when the page is ready (used by the browser test and for
    /// shareable links). Uncaught errors are written into `#js-errors`; `body[data-state]`
    /// is `ready`, `running`, `done` or `error`.
    static let script: String = #"""
    'use strict';
    (function () {
      const $ = (id) => document.getElementById(id);
      const errorsBox = $('js-errors');
      function logError(text) { errorsBox.textContent += text + '\n'; }
      window.onerror = function (message, source, line, column) {
        logError('error: ' + message + ' (' + (source || 'inline') + ':' + line + ':' + column + ')');
      };
      window.addEventListener('unhandledrejection', (e) => logError('unhandled rejection: ' + (e.reason && e.reason.message || e.reason)));
      document.addEventListener('securitypolicyviolation', (e) => logError('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));

      const params = new URLSearchParams(location.search);
      const samples = JSON.parse($('demo-samples').textContent);
      const panels = ['original', 'adversarial', 'purified'];
      const state = { models: [], image: null, imageName: '', sample: null, busy: false };

      function setState(s) { document.body.dataset.state = s; }
      function status(text, isError) {
        const el = $('status');
        el.textContent = text;
        el.classList.toggle('error', !!isError);
      }
      function headers(extra) {
        const h = Object.assign({}, extra || {});
        const key = $('apikey').value.trim();
        if (key) h['X-API-Key'] = key;
        return h;
      }
      async function errorText(response) {
        try {
          const body = await response.json();
          if (body && body.error && body.error.message) return response.status + ': ' + body.error.message;
        } catch (_) { /* not JSON */ }
        return 'HTTP ' + response.status + ' ' + response.statusText;
      }

      // ----- samples and uploads -----
      function renderThumbs() {
        const list = $('samples-list');
        for (const s of samples) {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = 'thumb';
          b.dataset.name = s.name;
          b.setAttribute('aria-pressed', 'false');
          b.title = s.dataset + ' test image #' + s.index + ' (' + s.label + ')';
          const img = document.createElement('img');
          img.src = '/demo/samples/' + encodeURIComponent(s.name);
          img.alt = s.dataset + ' ' + s.label;
          img.width = 64; img.height = 64;
          b.appendChild(img);
          b.addEventListener('click', () => selectSample(s, true));
          list.appendChild(b);
        }
      }
      function markSelected() {
        for (const b of document.querySelectorAll('.thumb')) {
          b.setAttribute('aria-pressed', String(!!state.sample && b.dataset.name === state.sample.name));
        }
        $('current-image').textContent = state.imageName || 'none';
      }
      function selectSample(s, switchModel) {
        state.sample = s;
        state.image = null;   // fetched on run
        state.imageName = s.dataset + ' ' + s.label + ' (test #' + s.index + ')';
        markSelected();
        if (switchModel && state.models.some((m) => m.name === s.model) && $('model').value !== s.model) {
          $('model').value = s.model;
          updatePurifiers();
        }
      }
      function useFile(file) {
        if (!file) return;
        const okType = /^image\/(png|jpeg)$/.test(file.type) || /\.(png|jpe?g)$/i.test(file.name);
        if (!okType) { status('Please choose a PNG or JPEG image (got ' + (file.type || file.name) + ').', true); return; }
        state.sample = null;
        state.image = file;
        state.imageName = file.name + ' (' + Math.round(file.size / 1024) + ' KiB)';
        markSelected();
        status('Image ready: ' + file.name + '. Press Run.');
      }
      function wireDrop() {
        const drop = $('drop');
        $('file').addEventListener('change', (e) => useFile(e.target.files[0]));
        for (const t of ['dragenter', 'dragover']) {
          drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); });
        }
        for (const t of ['dragleave', 'drop']) drop.addEventListener(t, () => drop.classList.remove('over'));
        drop.addEventListener('drop', (e) => { e.preventDefault(); useFile(e.dataTransfer.files[0]); });
        // A file dropped elsewhere on the page must not navigate away from it.
        window.addEventListener('dragover', (e) => e.preventDefault());
        window.addEventListener('drop', (e) => { e.preventDefault(); if (e.dataTransfer.files.length) useFile(e.dataTransfer.files[0]); });
      }

      // ----- models and options -----
      async function loadModels() {
        const r = await fetch('/v1/models', { headers: headers() });
        if (!r.ok) throw new Error('loading models failed: ' + await errorText(r));
        const body = await r.json();
        state.models = body.models || [];
        const select = $('model');
        select.textContent = '';
        for (const m of state.models) {
          const o = document.createElement('option');
          o.value = m.name;
          o.textContent = m.name;
          o.title = m.name + ' ' + m.version + ', input ' + m.input_shape.join('×');
          select.appendChild(o);
        }
        const wanted = params.get('model') || body.default_model;
        if (state.models.some((m) => m.name === wanted)) select.value = wanted;
        if (currentModel() && !params.get('eps')) $('eps').value = defaultEps(currentModel());
        updatePurifiers();
      }
      function currentModel() { return state.models.find((m) => m.name === $('model').value); }
      function updatePurifiers() {
        const m = currentModel();
        const select = $('purifier');
        const available = m ? m.purifiers : ['none', 'jpeg', 'vae', 'patch-vae'];
        for (const o of select.options) {
          o.disabled = !available.includes(o.value);
          o.textContent = o.textContent.replace(/ \(not available\)$/, '') + (o.disabled ? ' (not available)' : '');
        }
        if (!available.includes(select.value)) {
          select.value = m && available.includes(m.default_purifier) ? m.default_purifier : available[available.length - 1];
        }
        updateFields();
      }
      function updateFields() {
        $('quality-field').hidden = $('purifier').value !== 'jpeg';
        $('eps-field').hidden = $('attack').value === 'none';
        $('steps-field').hidden = $('attack').value !== 'pgd';
        const eps = Number($('eps').value);
        $('eps-out').textContent = eps.toFixed(3) + ' ≈ ' + (eps * 255).toFixed(1) + '/255';
        $('quality-out').textContent = $('quality').value;
      }
      function applyParams() {
        for (const name of ['purifier', 'attack', 'eps', 'steps', 'samples', 'quality']) {
          const v = params.get(name);
          if (v !== null) $(name).value = v;
        }
        if (params.get('certify') === '1') $('certify').checked = true;
        updateFields();
      }
      // Gray digits need a larger ε than natural RGB images before the attack shows.
      function defaultEps(m) { return m.input_shape[2] === 1 ? '0.2' : '0.03'; }
      function defaultSample() {
        const byName = samples.find((s) => s.name === params.get('sample'));
        if (byName) return byName;
        const m = currentModel();
        return samples.find((s) => m && s.model === m.name) || samples[0];
      }

      // ----- running -----
      async function imageBlob() {
        if (state.image) return state.image;
        if (!state.sample) throw new Error('choose a sample image or upload one first');
        const r = await fetch('/demo/samples/' + encodeURIComponent(state.sample.name));
        if (!r.ok) throw new Error('loading the sample failed: ' + await errorText(r));
        state.image = await r.blob();
        return state.image;
      }
      function queryString() {
        const q = new URLSearchParams();
        q.set('model', $('model').value);
        q.set('purifier', $('purifier').value);
        q.set('samples', $('samples').value || '1');
        q.set('attack', $('attack').value);
        if ($('purifier').value === 'jpeg') q.set('quality', $('quality').value);
        if ($('attack').value !== 'none') q.set('eps', $('eps').value);
        if ($('attack').value === 'pgd') q.set('steps', $('steps').value || '20');
        if (params.get('seed')) q.set('seed', params.get('seed'));
        return q.toString();
      }
      async function run() {
        if (state.busy) return;
        state.busy = true;
        $('run').disabled = true;
        $('results').setAttribute('aria-busy', 'true');
        setState('running');
        try {
          if (!state.models.length) await loadModels();
          const blob = await imageBlob();
          const attack = $('attack').selectedOptions[0].textContent.split(' ')[0];
          status('Running ' + attack + ' and ' + $('purifier').value + ' purification…');
          const r = await fetch('/v1/attack?' + queryString(), {
            method: 'POST', body: blob, headers: headers({ 'Content-Type': blob.type || 'application/octet-stream' }),
          });
          if (!r.ok) throw new Error(await errorText(r));
          const data = await r.json();
          render(data);
          $('certificate').hidden = !$('certify').checked;
          if ($('certify').checked) {
            status('Certifying the original with ' + ($('certify-n').value || '200') + ' noisy samples…');
            renderCertificate(await certify(blob), data.attack);
          }
          status('Done in ' + Math.round(lastTotal) + ' ms.');
          setState('done');
        } catch (e) {
          status(e.message || String(e), true);
          setState('error');
        } finally {
          state.busy = false;
          $('run').disabled = false;
          $('results').setAttribute('aria-busy', 'false');
        }
      }
      // The certificate of the original image (POST /v1/classify?certify=true), beside the
      // attack's measured L2 norm: an attack inside the certified ball cannot change the
      // smoothed classifier's label (with probability 1 − α); outside it, nothing is promised.
      async function certify(blob) {
        const q = new URLSearchParams();
        q.set('model', $('model').value);
        const p = $('purifier').value;
        q.set('purifier', p === 'jpeg' ? 'none' : p);
        q.set('certify', 'true');
        q.set('n', $('certify-n').value || '200');
        if (params.get('seed')) q.set('seed', params.get('seed'));
        const r = await fetch('/v1/classify?' + q.toString(), {
          method: 'POST', body: blob, headers: headers({ 'Content-Type': blob.type || 'application/octet-stream' }),
        });
        if (!r.ok) throw new Error(await errorText(r));
        return (await r.json()).certificate;
      }
      function renderCertificate(c, a) {
        const settings = ' (σ=' + c.sigma + ', n=' + c.n + ', α=' + c.alpha + ', denoiser ' + c.denoiser + ')';
        const parts = [];
        if (c.abstained) {
          parts.push('Certificate: the smoothed classifier abstains' + settings + '; no radius is certified.');
        } else {
          parts.push('Certificate: label ' + c.label + ' within L2 radius ' + c.radius_l2.toFixed(3) + settings + '.');
          if (a.name !== 'none') {
            parts.push('The attack\'s L2 norm ' + a.l2.toFixed(3) + (a.l2 < c.radius_l2
              ? ' is inside the certified radius: the smoothed classifier keeps its label.'
              : ' is outside the certified radius: the certificate does not cover it.'));
          }
        }
        $('certificate').textContent = parts.join(' ');
      }
      let lastTotal = 0;
      function render(data) {
        lastTotal = data.timings.total_ms;
        for (const name of panels) {
          const p = data[name];
          $('img-' + name).src = 'data:image/png;base64,' + p.image;
          const list = $('labels-' + name);
          list.textContent = '';
          for (const pred of p.predictions) {
            const li = document.createElement('li');
            const label = document.createElement('span');
            label.className = 'label';
            label.textContent = pred.label;
            const track = document.createElement('span');
            track.className = 'track';
            const fill = document.createElement('span');
            fill.className = 'fill';
            fill.style.width = (100 * Math.max(0, Math.min(1, pred.confidence))).toFixed(1) + '%';
            track.appendChild(fill);
            const pct = document.createElement('span');
            pct.className = 'pct';
            pct.textContent = (100 * pred.confidence).toFixed(1) + '%';
            li.append(label, track, pct);
            li.setAttribute('aria-label', pred.label + ': ' + (100 * pred.confidence).toFixed(1) + ' percent');
            list.appendChild(li);
          }
          const score = $('score-' + name);
          score.textContent = 'Reconstruction error ' + p.reconstruction_error.toFixed(4) + ' (threshold ' + data.threshold + ') ';
          const flag = document.createElement('span');
          flag.className = 'flag ' + (p.suspected_adversarial ? 'yes' : 'no');
          flag.textContent = p.suspected_adversarial ? 'suspected adversarial' : 'looks clean';
          score.appendChild(flag);
        }
        const a = data.attack;
        const parts = [];
        if (a.name === 'none') {
          parts.push('No attack: the attacked image is the original.');
        } else {
          parts.push(a.name.toUpperCase() + ' ε=' + a.eps.toFixed(3) + (a.name === 'pgd' ? ', ' + a.steps + ' steps' : '') +
                     ': L∞ ' + a.linf.toFixed(3) + ', L2 ' + a.l2.toFixed(3) + '.');
          parts.push(a.fooled ? 'The attack changed the bare classifier\'s answer.' : 'The bare classifier kept its answer.');
        }
        parts.push(a.recovered ? 'After purification (' + data.purifier.name + ') the original answer is back.'
                               : 'After purification (' + data.purifier.name + ') the answer differs from the original.');
        parts.push('Model ' + data.model.name + ' ' + data.model.version + '; attack ' + Math.round(data.timings.attack_ms) +
                   ' ms, defense ' + Math.round(data.timings.defense_ms) + ' ms.');
        $('summary').textContent = parts.join(' ');
      }

      // ----- start -----
      async function start() {
        renderThumbs();
        wireDrop();
        applyParams();
        for (const id of ['purifier', 'attack', 'eps', 'quality']) $(id).addEventListener('input', updateFields);
        $('model').addEventListener('change', () => {
          updatePurifiers();
          const m = currentModel();
          if (m && !params.get('eps')) { $('eps').value = defaultEps(m); updateFields(); }
          if (state.sample && m && state.sample.model !== m.name) {
            const s = samples.find((x) => x.model === m.name);
            if (s) selectSample(s, false);
          }
        });
        $('controls').addEventListener('submit', (e) => { e.preventDefault(); run(); });
        try {
          await loadModels();
          applyParams();
        } catch (e) {
          status(e.message + (/^401/.test(e.message.split('failed: ')[1] || '') ? ' Enter an API key, then press Run.' : ''), true);
        }
        selectSample(defaultSample(), !params.get('model'));
        setState('ready');
        if (params.get('autorun') === '1') await run();
      }
      start();
    })();
    """#
}
