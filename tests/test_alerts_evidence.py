"""A screenshot where the crawl kept one travels with the alert: attached to the mail
(aiosmtpd) and to the webhook's JSON, the same bytes. Screenshots come from the
browser (issue 13); here one is cited the way exports read it (`screenshot`)."""

from __future__ import annotations

import base64
import struct
import zlib

from watchkit import FAST, ChangingWeb, Smtp, Webhook, demo_profile, env_for, serpwatch

from crawler import storage
from crawler.alerts import alert_run
from crawler.config import AlertsConfig


def png(width: int = 4, height: int = 3) -> bytes:
    """A real, tiny PNG (red pixels), made by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_screenshot_is_attached_to_mail_and_webhook(tmp_path):
    with ChangingWeb() as web:
        profile = demo_profile(tmp_path, web)
        db_path = tmp_path / "e.db"
        crawl = serpwatch("crawl", profile, "--db", db_path, *FAST, env=env_for(web))
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    image = png()
    shot = tmp_path / "shots" / "microsoft-helpdesk-bellen.nl.png"
    shot.parent.mkdir()
    shot.write_bytes(image)
    db = storage.open_db(db_path)
    if "screenshot" not in db["site_numbers"].columns_dict:  # until the browser's migration
        db["site_numbers"].add_column("screenshot", str)
    db["site_numbers"].update(
        storage.key("microsoft-helpdesk-bellen.nl", "+31852081234"), {"screenshot": str(shot)}
    )
    with Smtp() as smtp, Webhook() as hook:
        done = alert_run(
            db,
            "demo",
            AlertsConfig(urls=[smtp.url, hook.url], min_risk="high"),
            1,
            warc_dir=tmp_path / "e-warc",
            retries=1,
        )
        assert [d.ok for d in done] == [True, True]
        (mail,) = smtp.messages
        (post,) = hook.posts
    attached = [p for p in mail.iter_attachments() if p.get_content_type() == "image/png"]
    assert len(attached) == 1 and attached[0].get_content() == image
    assert f"screenshot: {shot}" in post["message"]
    (sent,) = [a for a in post["attachments"] if a.get("mimetype") == "image/png"]
    assert base64.b64decode(sent["base64"]) == image
