"""Pages built for a browser, on 127.0.0.1, for the rendering tests.

`RenderWeb` serves a Bing-style search engine (`/search`: every landing page
below as an organic result, `/locker` also as an ad) and the landing pages:

- `/delayed`: the number is written by a script three seconds after load;
- `/pieces`: the number is assembled from pieces by a script;
- `/image`: the number is only in a PNG;
- `/locker`: full screen, keyboard lock, an alert loop, `beforeunload`, a
  history flood, audio autoplay;
- `/hang`: a script spins forever after load;
- `/cloak`: the number is shown only when `navigator.webdriver` is false;
- `/switch`: a shop page with its own number and title, which a script turns
  into a helpdesk page with another number when `navigator.webdriver` is false;
- `/download`: a script starts the download of an executable;
- `/plain`: a page with its number in plain text (not rendered by `auto`).

`InternalServer` plays the inside of our network for the SSRF tests: it
records every request line it receives in `hits`; `/ssrf` and `/jump` on the
RenderWeb try to reach it by every path a browser has.
"""

from __future__ import annotations

import io
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from crawler.demo.web import bing_page

NUMBERS = {
    "delayed": "+31207941122",
    "pieces": "+31852089976",
    "image": "+31881234567",
    "locker": "+318000229197",
    "cloak": "+31203690101",
    "plain": "+31104567890",
    "switch": "+31207778899",
    "hang": "+31201112233",
    "download": "+31204445566",
}
EXE = b"MZ\x90\x00" + b"\x00" * 2000  # looks like a Windows program

_HEAD = '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>{title}</title></head>'

PAGES = {
    "/delayed": _HEAD.format(title="Microsoft helpdesk")
    + """<body><h1>Microsoft helpdesk</h1><p id="nr">Even geduld, het nummer wordt geladen...</p>
<script>setTimeout(function () {
  document.getElementById('nr').textContent = 'Bel de Microsoft helpdesk: 020 794 1122';
}, 3000);</script></body></html>""",
    "/pieces": _HEAD.format(title="Windows support")
    + """<body><h1>Windows support</h1><p id="nr"></p>
<script>
var parts = ['0', '85', ' 20', '8 99', String.fromCharCode(55, 54)];
document.getElementById('nr').innerHTML = 'Bel de Microsoft helpdesk: ' + parts.join('');
</script></body></html>""",
    "/image": _HEAD.format(title="Microsoft klantenservice")
    + """<body><h1>Microsoft klantenservice</h1><p>Bel onze Microsoft helpdesk:</p>
<img src="/nummer.png" width="520" height="90" alt=""></body></html>""",
    "/locker": _HEAD.format(title="Windows beveiligingswaarschuwing")
    + """<body><h1>Uw computer is geblokkeerd</h1>
<p>Bel direct de Microsoft helpdesk: 0800 022 9197</p>
<audio src="/alarm.wav" autoplay loop></audio>
<script>
function lock() {
  var el = document.documentElement;
  if (el.requestFullscreen) el.requestFullscreen().catch(function () {});
  var kb = navigator.keyboard;
  if (kb && kb.lock) kb.lock().catch(function () {});
}
lock();
document.addEventListener('click', lock);
window.addEventListener('beforeunload', function (e) { e.preventDefault(); e.returnValue = ''; });
setTimeout(function () {
  while (true) { alert('Uw computer is geblokkeerd! Bel 0800 022 9197'); }
}, 200);
for (var i = 0; i < 200; i++) history.pushState({i: i}, '', '#warning' + i);
</script></body></html>""",
    "/hang": _HEAD.format(title="Microsoft helpdesk")
    + """<body><h1>Uw computer is geblokkeerd</h1><p>Bel de Microsoft helpdesk: 020 111 2233</p>
<script>setTimeout(function () { while (true) {} }, 300);</script></body></html>""",
    "/cloak": _HEAD.format(title="Microsoft helpdesk")
    + """<body><h1>Microsoft helpdesk</h1><p id="nr">Welkom.</p>
<script>
if (navigator.webdriver) {
  document.getElementById('nr').textContent = 'Welkom bij onze computerwinkel.';
} else {
  document.getElementById('nr').textContent = 'Bel de Microsoft helpdesk: 020 369 0101';
}
</script></body></html>""",
    "/download": _HEAD.format(title="Microsoft helpdesk")
    + """<body><h1>Microsoft helpdesk: hulp op afstand</h1>
<p>Bel de Microsoft helpdesk: 020 444 5566. Uw download start automatisch.</p>
<a id="d" href="/AnyDesk.exe" download>AnyDesk downloaden</a>
<script>setTimeout(function () { document.getElementById('d').click(); }, 200);</script>
</body></html>""",
    "/switch": _HEAD.format(title="Computerwinkel Utrecht")
    + """<body><h1 id="h">Computerwinkel Utrecht</h1><p id="nr">Winkel: 030 123 4567</p>
<script>
if (!navigator.webdriver) {
  document.title = 'Microsoft helpdesk';
  document.getElementById('h').textContent = 'Microsoft helpdesk';
  document.getElementById('nr').textContent = 'Bel de Microsoft helpdesk: 020 777 8899';
}
</script></body></html>""",
    "/plain": _HEAD.format(title="Computerhulp Rotterdam")
    + """<body><h1>Computerhulp Rotterdam</h1><p>Bel ons: 010 456 7890</p></body></html>""",
}
LANDING = [
    "/delayed",
    "/pieces",
    "/image",
    "/locker",
    "/hang",
    "/cloak",
    "/switch",
    "/download",
    "/plain",
]


def number_png(text: str = "Bel 088 123 4567") -> bytes:
    """A PNG with a phone number drawn in it (and nowhere else)."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (520, 90), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=48)
    draw.text((14, 16), text, fill=(20, 20, 120), font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def ssrf_page(internal_port: int) -> str:
    """A page that tries to reach the internal server by every path a browser has."""
    base = f"http://127.0.0.1:{internal_port}/hit"
    return (
        _HEAD.format(title="SSRF")
        + f"""<body><h1>Nothing to see</h1>
<link rel="stylesheet" href="{base}/css">
<img src="{base}/img">
<img src="/redirect?to={base}/redirect">
<img src="http://rebind.test:{internal_port}/hit/rebind">
<img src="http://localhost:{internal_port}/hit/localhost">
<img src="http://2130706433:{internal_port}/hit/decimal">
<iframe src="{base}/iframe"></iframe>
<script src="{base}/script"></script>
<script>
fetch('{base}/fetch', {{mode: 'no-cors'}}).catch(function () {{}});
var x = new XMLHttpRequest(); x.open('GET', '{base}/xhr'); x.send();
try {{ new WebSocket('ws://127.0.0.1:{internal_port}/hit/ws'); }} catch (e) {{}}
window.open('{base}/popup');
</script></body></html>"""
    )


def jump_page(internal_port: int) -> str:
    """A page whose script navigates the whole page to the internal server."""
    return (
        _HEAD.format(title="Jump")
        + f"""<body><p>Even geduld.</p>
<script>setTimeout(function () {{
  location.href = 'http://127.0.0.1:{internal_port}/hit/navigate';
}}, 100);</script></body></html>"""
    )


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Base:
    def __init__(self, handler):
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class _InternalHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.owner.hits.append(self.path)
        body = b"internal secret"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class InternalServer(_Base):
    """The inside of our network: records what reaches it."""

    def __init__(self):
        self.hits: list[str] = []
        super().__init__(_InternalHandler)

    def paths(self) -> set[str]:
        return {h.split("?")[0].rsplit("/", 1)[-1] for h in self.hits}


class _WebHandler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        owner: RenderWeb = self.server.owner
        parts = urlsplit(self.path)
        owner.hits.append(parts.path)
        owner.requests.append((self.path, self.headers.get("User-Agent", "")))
        base = f"http://127.0.0.1:{owner.port}"
        if parts.path == "/search":
            query = parse_qs(parts.query).get("q", ["q"])[0]
            organic = [(base + p, p.strip("/").title(), base + p, "") for p in owner.landing]
            ads = [(base + p, "Microsoft Helpdesk", base + p, "Bel nu") for p in owner.ads]
            self._send(200, bing_page(query, organic, ads).encode(), "text/html; charset=utf-8")
        elif parts.path == "/nummer.png":
            self._send(200, owner.png, "image/png")
        elif parts.path == "/AnyDesk.exe":
            self._send(200, EXE, "application/octet-stream")
        elif parts.path == "/redirect":
            to = parse_qs(parts.query).get("to", ["/"])[0]
            self._send(302, b"", "text/plain", {"Location": to})
        elif parts.path == "/ssrf":
            self._send(200, ssrf_page(owner.internal_port).encode(), "text/html; charset=utf-8")
        elif parts.path == "/jump":
            self._send(200, jump_page(owner.internal_port).encode(), "text/html; charset=utf-8")
        elif parts.path in PAGES:
            self._send(200, PAGES[parts.path].encode(), "text/html; charset=utf-8")
        else:
            self._send(404, b"not found", "text/plain")

    def log_message(self, *args):
        pass


class RenderWeb(_Base):
    def __init__(self, landing=None, ads=("/locker",), internal_port: int = 9):
        self.landing = list(LANDING if landing is None else landing)
        self.ads = list(ads)
        self.internal_port = internal_port
        self.hits: list[str] = []
        # Each request's target and User-Agent: who asked, the crawler or the browser.
        self.requests: list[tuple[str, str]] = []
        self.png = number_png()
        super().__init__(_WebHandler)

    @property
    def search_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/search"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"
