// Package web is consoled's web view, an adapter on package frontend's
// core like frontend/sshd: the console list, a live terminal per console
// (xterm.js over a WebSocket), the history of a console with its day's
// timeline, and the crash list.
//
// Logging in is anchored in SSH keys: `ssh console@HOST web` asks the core
// for a one-time link (Core.WebLink), which this package issues (valid
// LinkTTL, once). Opening it starts a browser session whose identity is
// the user and key the link was issued for, with Via "web": every action is
// decided and audited by the core as the same action over SSH, and the
// session ends when its key no longer stands. The session cookie is
// HttpOnly, SameSite=Strict, Secure under TLS, and ends after IdleTimeout
// unused or on logout.
//
// What changes state needs the session's CSRF token (a header or form
// field for POST, a query parameter for the terminal's WebSocket, whose
// Origin must also be this host). Pages run no inline script: the
// Content-Security-Policy allows the embedded scripts only.
//
// The terminal's WebSocket (/ws/console/NAME?csrf=TOKEN[&spy=1]) carries
// the console's bytes as binary messages both ways, as an SSH channel does
// (keystrokes go through the same ^Ec escape parser). Text messages are
// JSON: the page sends actions, {"op": "take"|"force"|"drop"|"break" (n)|
// "replay" (n)|"who"|"power" (action, confirmed)|"note" (text)|"resize"};
// the server sends {"t": "state"} (access, writer, me, state) after each
// change, {"t": "ask"} for a question the page puts to the user (a power
// action, a note), and {"t": "bye"} (why) before it closes.
//
// Assets: static/ is embedded in the binary. static/vendor holds
// @xterm/xterm and @xterm/addon-fit as pinned by ui/package-lock.json;
// after changing a version run `cd frontend/web/ui && npm ci && npm run
// build` and commit static/vendor. Building consoled needs no npm.
package web
