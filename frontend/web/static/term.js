// One console's terminal: xterm.js over a WebSocket. Console output comes
// as binary messages and keystrokes go back the same way; buttons send
// JSON actions, and the server's state and questions come as JSON.
'use strict';
(function () {
  const page = document.body.dataset;
  const name = page.console;
  const csrf = document.querySelector('meta[name=csrf]').content;
  const stateEl = document.getElementById('state');
  const term = new Terminal({ convertEol: false, scrollback: 10000, cursorBlink: true,
    fontFamily: 'DejaVu Sans Mono, Liberation Mono, monospace', fontSize: 14 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById('terminal'));
  fit.fit();
  window.consoledTerm = term; // for tests and the curious: the screen's text is in its buffer

  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const url = scheme + location.host + '/ws/console/' + encodeURIComponent(name) + '?csrf=' + encodeURIComponent(csrf);
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const enc = new TextEncoder();

  function send(op) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(op));
  }

  ws.onopen = () => {
    document.body.classList.add('connected');
    send({ op: 'resize', cols: term.cols, rows: term.rows });
    term.focus();
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== 'string') {
      term.write(new Uint8Array(ev.data));
      return;
    }
    const m = JSON.parse(ev.data);
    if (m.t === 'state') {
      const writer = m.me ? 'you write' : (m.writer ? m.writer + ' writes' : 'nobody writes');
      stateEl.textContent = m.state + ', ' + m.access + ', ' + writer;
      document.body.dataset.writer = m.me ? 'me' : (m.writer || '');
      document.body.dataset.access = m.access;
    } else if (m.t === 'ask' && m.kind === 'power') {
      if (confirm(m.text)) send({ op: 'power', action: m.action, confirmed: true });
      else term.write('\r\n[consoled: power ' + m.action + ' cancelled]\r\n');
    } else if (m.t === 'ask' && m.kind === 'note') {
      const text = prompt(m.text);
      if (text) send({ op: 'note', text: text });
    } else if (m.t === 'bye') {
      document.body.classList.remove('connected');
      stateEl.textContent = m.why;
    }
  };
  ws.onclose = () => {
    document.body.classList.remove('connected');
    document.body.classList.add('closed');
    if (!stateEl.textContent.startsWith('disconnected') && !stateEl.textContent.startsWith('detached')) {
      stateEl.textContent = 'disconnected';
    }
  };
  term.onData((d) => { if (ws.readyState === WebSocket.OPEN) ws.send(enc.encode(d)); });
  term.onBinary((d) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const b = new Uint8Array(d.length);
    for (let i = 0; i < d.length; i++) b[i] = d.charCodeAt(i) & 0xff;
    ws.send(b);
  });
  window.addEventListener('resize', () => {
    fit.fit();
    send({ op: 'resize', cols: term.cols, rows: term.rows });
  });

  for (const b of document.querySelectorAll('#actions button[data-op]')) {
    b.addEventListener('click', () => {
      send({ op: b.dataset.op, n: Number(b.dataset.n || 0) });
      term.focus();
    });
  }
  const seq = document.getElementById('seq');
  if (seq) seq.addEventListener('change', () => {
    if (seq.value !== '') send({ op: 'break', n: Number(seq.value) });
    seq.value = '';
    term.focus();
  });
  const power = document.getElementById('power');
  if (power) power.addEventListener('change', () => {
    const action = power.value;
    power.value = '';
    if (action === '') return;
    if (action === 'status' || confirm('power ' + action + ' ' + name + '?')) {
      send({ op: 'power', action: action, confirmed: true });
    }
    term.focus();
  });
})();
