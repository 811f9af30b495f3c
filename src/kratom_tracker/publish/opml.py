"""The OPML 2.0 list of the published feeds (`feeds.opml`), so a feed reader subscribes to every region in
one import. One outline per feed, in its Atom form (the richest: categories with labels), under the all-feed.
Byte-stable like the feeds: no clock, only the newest entry's date."""

from __future__ import annotations

from email.utils import format_datetime

from lxml import etree

from kratom_tracker.config.model import PublishSettings
from kratom_tracker.publish.feeds import FeedSpec, when

OPML_NAME = "feeds.opml"
OPML_CONTENT_TYPE = "text/x-opml"


def _outline(parent: etree._Element, spec: FeedSpec, settings: PublishSettings) -> None:
    site = f"{settings.base_url}/" + (f"?q={spec.region}" if spec.region else "")
    etree.SubElement(parent, "outline", {
        "type": "rss",  # OPML's word for any feed, Atom included
        "text": spec.title, "title": spec.title,
        "xmlUrl": f"{settings.base_url}/feeds/{spec.stem}.atom", "htmlUrl": site,
        **({"category": f"/region/{spec.region}"} if spec.region else {}),
    })


def render_opml(specs: list[FeedSpec], settings: PublishSettings, newest: str | None) -> bytes:
    """`specs` (the all-feed first) as an OPML 2.0 document."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{settings.title}: feeds by region"
    etree.SubElement(head, "dateModified").text = format_datetime(when(newest), usegmt=True)
    etree.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")
    for spec in specs:
        _outline(body, spec, settings)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
