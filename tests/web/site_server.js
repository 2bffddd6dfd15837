// tests/web/site_server.js — a shop's own web site for tests/web/sdk.js: the same page on two ports (two origins),
// which includes the SDK from dejaviewd with a <script> tag and runs the zero-touch front desk with a publishable key.
// usage: node site_server.js DV_URL PORTS_FILE   (writes "site=P1\nother=P2"); the page is /site.html?key=KEY
const http = require('http');
const fs = require('fs');

const [dvUrl, portsFile] = process.argv.slice(2);
const page = (key) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Corner shop</title></head>
<body>
<h1>Corner shop</h1>
<div id="desk"></div>
<script src="${dvUrl}/sdk/v1/dejaview.js"></script>
<script>
  window.dv = Dejaview.init({ server: '${dvUrl}', key: '${key}' });
  window.results = [];
  if (!/nodesk/.test(location.search))
    window.desk = dv.frontDesk(document.getElementById('desk'), { mode: 'auto', location: 'corner-shop', onResult: (r) => results.push(r) });
</script>
</body></html>`;

const handler = (req, res) => {
  if (req.url.startsWith('/site.html')) {
    const key = (new URL(req.url, 'http://x').searchParams.get('key') || '').replace(/[^a-z0-9_]/g, '');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page(key));
  } else {
    res.writeHead(404);
    res.end();
  }
};
const a = http.createServer(handler), b = http.createServer(handler);
a.listen(0, '127.0.0.1', () => b.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portsFile, `site=${a.address().port}\nother=${b.address().port}\n`);
}));
