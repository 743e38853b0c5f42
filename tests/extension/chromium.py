"""Helpers of the Chromium suites: the card, read through the DevTools protocol.

The card lives in a closed shadow root that page scripts cannot reach; the DevTools protocol
can (DOM.getDocument with pierce), which is how these helpers read it and call into it."""

from __future__ import annotations

from typing import Any

from tests.extension.harness import screenshot_path


def shoot(page: Any, name: str) -> None:
    page.wait_for_timeout(250)  # let the card's 120 ms fade-in finish
    page.screenshot(path=str(screenshot_path(name)))


def wait_for_card(page: Any, timeout: float = 5000) -> Any:
    host = page.locator("balise-card")
    host.wait_for(state="visible", timeout=timeout)
    return host


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    return node.get("shadowRoots", []) + node.get("children", [])


def _find(node: dict[str, Any], pred: Any) -> dict[str, Any] | None:
    if pred(node):
        return node
    for child in _children(node):
        hit = _find(child, pred)
        if hit:
            return hit
    return None


def _attrs(node: dict[str, Any]) -> dict[str, str]:
    attrs = node.get("attributes", [])
    return dict(zip(attrs[::2], attrs[1::2], strict=False))


def _classes(node: dict[str, Any]) -> list[str]:
    return _attrs(node).get("class", "").split()


def _text(node: dict[str, Any] | None) -> str:
    if node is None:
        return ""
    if node.get("nodeType") == 3:
        return str(node.get("nodeValue", ""))
    return "".join(_text(child) for child in _children(node))


def _all_with(node: dict[str, Any], name: str) -> list[dict[str, Any]]:
    out = [node] if name in _classes(node) else []
    for child in _children(node):
        out += _all_with(child, name)
    return out


def _document(page: Any) -> dict[str, Any]:
    cdp = page.context.new_cdp_session(page)
    try:
        return dict(cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"])
    finally:
        cdp.detach()


def card_content(page: Any) -> dict[str, Any]:
    """Read the card through its closed shadow root, as the DevTools protocol sees it."""
    root = _document(page)
    host = _find(root, lambda n: n.get("localName") == "balise-card")
    assert host is not None, "no card host in the page"
    shadow = host.get("shadowRoots", [])
    assert shadow and shadow[0].get("shadowRootType") == "closed", (
        "the card is not in a closed shadow root"
    )
    card = shadow[0]
    return {
        "title": _text(_find(card, lambda n: "title" in _classes(n))),
        "teaser": _text(_find(card, lambda n: "teaser" in _classes(n))),
        "mark": _text(_find(card, lambda n: "mark" in _classes(n))),
        "domain": _text(_find(card, lambda n: "domain" in _classes(n))),
        "headings": [_text(n) for n in _all_with(card, "heading")],
        "links": [
            _attrs(n).get("href") for n in _all_with(card, "source") + _all_with(card, "preview")
        ],
    }


def in_card(page: Any, function: str) -> Any:
    """Call the JavaScript `function` with `this` the card's (closed) shadow root; its value."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        host = _find(root, lambda n: n.get("localName") == "balise-card")
        assert host is not None and host.get("shadowRoots"), "no card in the page"
        shadow = host["shadowRoots"][0]
        remote = cdp.send("DOM.resolveNode", {"backendNodeId": shadow["backendNodeId"]})
        result = cdp.send(
            "Runtime.callFunctionOn",
            {
                "objectId": remote["object"]["objectId"],
                "functionDeclaration": function,
                "returnByValue": True,
            },
        )
        return result["result"].get("value")
    finally:
        cdp.detach()


FOCUSED_IN_CARD = """function () {
  const el = this.activeElement;
  return el ? {cls: el.className, text: el.textContent, expanded: el.getAttribute('aria-expanded')}
            : null;
}"""


def focused_in_card(page: Any) -> dict[str, Any] | None:
    value = in_card(page, FOCUSED_IN_CARD)
    return value if isinstance(value, dict) else None


def card_element_center(page: Any, class_name: str) -> tuple[float, float]:
    """Viewport centre of the first `.class_name` inside the card's closed shadow root."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        stack = [root]
        while stack:
            node = stack.pop(0)
            if class_name in _classes(node):
                quad = cdp.send("DOM.getBoxModel", {"nodeId": node["nodeId"]})["model"]["border"]
                return (quad[0] + quad[2]) / 2, (quad[1] + quad[5]) / 2
            stack.extend(_children(node))
    finally:
        cdp.detach()
    raise AssertionError(f"no .{class_name} in the card")
