"""The docs pages work without internet (air-gapped installs): ``/docs`` and ``/redoc``
load their scripts, styles and icon from this server, and under custom auth they are as
public as ``/openapi.json``."""

from __future__ import annotations

import re

import httpx
import pytest

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
PAGES = ("/docs", "/redoc")
KINDS = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def _assets(page: str) -> list[str]:
    return ASSET.findall(page)


@pytest.mark.parametrize("page", PAGES)
async def test_docs_pages_load_only_local_assets(http: httpx.AsyncClient, page: str) -> None:
    response = await http.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "://" not in response.text  # no CDN, no web fonts
    assets = _assets(response.text)
    assert {a.rsplit(".", 1)[-1] for a in assets} >= {"js", "png"}
    for asset in assets:
        assert asset.startswith("/docs/static/"), asset
        loaded = await http.get(asset)
        assert loaded.status_code == 200, asset
        kind = KINDS[asset[asset.rindex(".") :]]
        assert kind in loaded.headers["content-type"], asset
        assert len(loaded.content) > 1000, asset


async def test_swagger_ui_loads_its_styles_and_the_document(http: httpx.AsyncClient) -> None:
    page = (await http.get("/docs")).text
    assert "/docs/static/swagger-ui.css" in _assets(page)
    assert "url: '/openapi.json'" in page
    redirect = await http.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "://" not in redirect.text


async def test_an_unknown_asset_is_404(http: httpx.AsyncClient) -> None:
    assert (await http.get("/docs/static/nope.js")).status_code == 404


async def test_docs_are_public_under_custom_auth(raw: httpx.AsyncClient) -> None:
    for page in PAGES:
        response = await raw.get(page)
        assert response.status_code == 200, page
        for asset in _assets(response.text):
            assert (await raw.get(asset)).status_code == 200, asset
    assert (await raw.get("/")).json() == {"ok": True}
    # the public prefix is the assets' folder only
    assert (await raw.get("/docs/other")).status_code == 401
    assert (await raw.get("/docs/staticx/a.js")).status_code == 401
