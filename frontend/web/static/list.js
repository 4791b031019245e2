// The console list: fetched from /api/consoles every 2 s, filtered by name.
'use strict';
(function () {
  const body = document.querySelector('#consoles tbody');
  const filter = document.getElementById('filter');
  const count = document.getElementById('count');
  const error = document.getElementById('error');
  let consoles = [];
  const pictures = new Map(); // console name -> its timeline image, kept across refreshes

  function picture(name) {
    let img = pictures.get(name);
    if (!img) {
      img = document.createElement('img');
      img.loading = 'lazy';
      img.alt = name + ': output of the last 24 hours';
      img.src = '/console/' + encodeURIComponent(name) + '/timeline.svg';
      pictures.set(name, img);
      setInterval(() => { img.src = img.src.split('?')[0] + '?t=' + Date.now(); }, 60000);
    }
    return img;
  }

  function ago(iso) {
    if (!iso) return '';
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }

  function cell(row, text, cls, title) {
    const td = row.insertCell();
    td.textContent = text;
    if (cls) td.className = cls;
    if (title) td.title = title;
    return td;
  }

  function link(td, href, text) {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    td.appendChild(a);
    return a;
  }

  function render() {
    const f = filter.value.trim().toLowerCase();
    const shown = consoles.filter(c => c.name.toLowerCase().includes(f));
    body.replaceChildren();
    for (const c of shown) {
      const row = body.insertRow();
      row.dataset.name = c.name;
      link(cell(row, '', 'name'), '/console/' + encodeURIComponent(c.name), c.name);
      cell(row, c.state, 'state ' + c.state, c.error || ('since ' + c.since));
      cell(row, c.backend, '', c.detail || '');
      cell(row, c.writer || '-', 'writer');
      cell(row, String(c.viewers), 'viewers');
      cell(row, ago(c.last_output), 'last-output', c.last_output || '');
      cell(row, c.last_crash ? ago(c.crash_time) + ': ' + c.last_crash : '', 'crash', c.crash_time || '');
      cell(row, '', 'timeline').appendChild(picture(c.name));
      cell(row, c.access, 'access');
      link(cell(row, ''), '/console/' + encodeURIComponent(c.name) + '/log', 'history');
    }
    count.textContent = shown.length + ' of ' + consoles.length;
  }

  async function refresh() {
    try {
      const r = await fetch('/api/consoles', { credentials: 'same-origin' });
      if (r.status === 401) {
        error.textContent = 'Logged out: get a new link with ssh ... web';
        return;
      }
      consoles = await r.json();
      error.textContent = '';
      render();
    } catch (e) {
      error.textContent = 'consoled is not answering: ' + e;
    }
  }

  filter.addEventListener('input', render);
  refresh();
  setInterval(refresh, 2000);
})();
