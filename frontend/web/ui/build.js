// Copies the pinned xterm.js files into ../static/vendor, which the Go
// binary embeds. Run `npm ci && npm run build` after changing a version.
const fs = require('fs');
const path = require('path');

const out = path.join(__dirname, '..', 'static', 'vendor');
fs.mkdirSync(out, { recursive: true });
for (const [from, to] of [
  ['@xterm/xterm/lib/xterm.js', 'xterm.js'],
  ['@xterm/xterm/css/xterm.css', 'xterm.css'],
  ['@xterm/xterm/LICENSE', 'xterm.LICENSE'],
  ['@xterm/addon-fit/lib/addon-fit.js', 'addon-fit.js'],
]) {
  let text = fs.readFileSync(path.join(__dirname, 'node_modules', from), 'utf8');
  text = text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'); // the maps are not shipped
  fs.writeFileSync(path.join(out, to), text);
  console.log('wrote', path.relative(process.cwd(), path.join(out, to)));
}
