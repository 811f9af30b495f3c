"""The W3C Feed Validation Service's rules that can be checked offline (https://validator.w3.org/feed/docs/),
for Atom 1.0 (RFC 4287), RSS 2.0, JSON Feed 1.1 and OPML 2.0. Each check returns the problems it found, in
the validator's words where it has them; an empty list means valid as far as these rules go."""

from __future__ import annotations

import email.utils
import json
import re
from datetime import datetime
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$")
TAG_URI = re.compile(r"^tag:[A-Za-z0-9.-]+(?:@[A-Za-z0-9.-]+)?,\d{4}(?:-\d\d(?:-\d\d)?)?:\S+$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
RFC822_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _absolute(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _iri(value: str | None) -> bool:
    return bool(value) and (TAG_URI.match(value) is not None or _absolute(value) or value.startswith("urn:"))


def _rfc3339(value: str | None) -> bool:
    return bool(value) and RFC3339.match(value) is not None


def _rfc822(value: str | None) -> bool:
    if not value or value[:3] not in RFC822_DAYS:
        return False
    try:
        return email.utils.parsedate_to_datetime(value) is not None
    except (TypeError, ValueError):
        return False


def _html_problems(fragment: str, where: str) -> list[str]:
    """The validator's content checks: no script or style, no event handlers, no relative URLs."""
    problems = []
    soup = BeautifulSoup(fragment, "html.parser")
    for element in soup.find_all(True):
        if element.name in ("script", "style", "iframe", "object", "embed", "meta", "link", "form"):
            problems.append(f"{where}: contains potentially dangerous content <{element.name}>")
        for name, value in element.attrs.items():
            if name.lower().startswith("on") or name.lower() == "style":
                problems.append(f"{where}: contains potentially dangerous attribute {name}")
            if name.lower() in ("href", "src") and not _absolute(str(value)):
                problems.append(f"{where}: relative or unsafe URL {value!r}")
    return problems


def _plain_text(value: str | None, where: str) -> list[str]:
    return [f"{where}: may contain HTML"] if value and re.search(r"<[a-zA-Z/!]", value) else []


def atom_problems(data: bytes, self_url: str | None = None) -> list[str]:
    root = etree.fromstring(data)
    if root.tag != f"{ATOM}feed":
        return ["root element is not atom:feed"]
    problems: list[str] = []

    def one(parent, name: str, where: str):
        found = parent.findall(f"{ATOM}{name}")
        if len(found) != 1:
            problems.append(f"{where}: must contain exactly one {name} element (found {len(found)})")
        return found[0] if found else None

    lang = root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang is not None and not LANGUAGE.match(lang):
        problems.append(f"feed: invalid xml:lang {lang!r}")
    for name in ("id", "title", "updated"):
        element = one(root, name, "feed")
        if element is not None and name == "id" and not _iri(element.text):
            problems.append(f"feed: id is not a valid IRI: {element.text!r}")
        if element is not None and name == "updated" and not _rfc3339(element.text):
            problems.append(f"feed: updated is not an RFC 3339 date-time: {element.text!r}")
    links = root.findall(f"{ATOM}link")
    selfs = [link for link in links if link.get("rel") == "self"]
    if len(selfs) != 1:
        problems.append("feed: missing atom:link with rel=\"self\"" if not selfs else "feed: more than one self link")
    elif self_url and selfs[0].get("href") != self_url:
        problems.append(f"feed: self reference does not match document location: {selfs[0].get('href')}")
    seen_alternates = set()
    for link in links:
        if not _absolute(link.get("href")):
            problems.append(f"feed: link href is not an absolute URL: {link.get('href')!r}")
        if link.get("rel", "alternate") == "alternate":
            key = (link.get("type"), link.get("hreflang"))
            if key in seen_alternates:
                problems.append("feed: duplicate alternate links with the same type and hreflang")
            seen_alternates.add(key)
    feed_author = root.find(f"{ATOM}author") is not None
    ids = []
    for index, entry in enumerate(root.findall(f"{ATOM}entry")):
        where = f"entry {index + 1}"
        entry_id = one(entry, "id", where)
        title = one(entry, "title", where)
        updated = one(entry, "updated", where)
        if entry_id is not None:
            ids.append(entry_id.text)
            if not _iri(entry_id.text):
                problems.append(f"{where}: id is not a valid IRI: {entry_id.text!r}")
        if title is not None and title.get("type", "text") == "text":
            problems += _plain_text(title.text, f"{where} title")
        for name in ("updated", "published"):
            element = updated if name == "updated" else entry.find(f"{ATOM}published")
            if element is not None and not _rfc3339(element.text):
                problems.append(f"{where}: {name} is not an RFC 3339 date-time: {element.text!r}")
        if not feed_author and entry.find(f"{ATOM}author") is None:
            problems.append(f"{where}: missing author (and the feed has none)")
        content = entry.find(f"{ATOM}content")
        alternate = [x for x in entry.findall(f"{ATOM}link") if x.get("rel", "alternate") == "alternate"]
        if content is None and not alternate:
            problems.append(f"{where}: must contain an alternate link or content")
        for link in entry.findall(f"{ATOM}link"):
            if not _absolute(link.get("href")):
                problems.append(f"{where}: link href is not an absolute URL: {link.get('href')!r}")
        if content is not None:
            if content.get("type", "text") not in ("text", "html", "xhtml"):
                problems.append(f"{where}: unknown content type {content.get('type')!r}")
            if content.get("type") == "html":
                problems += _html_problems(content.text or "", f"{where} content")
        for category in entry.findall(f"{ATOM}category"):
            if not category.get("term"):
                problems.append(f"{where}: category has no term")
            if category.get("scheme") is not None and not _iri(category.get("scheme")):
                problems.append(f"{where}: category scheme is not an IRI: {category.get('scheme')!r}")
    if len(ids) != len(set(ids)):
        problems.append("feed: two entries share an id")
    return problems


def rss_problems(data: bytes, self_url: str | None = None) -> list[str]:
    root = etree.fromstring(data)
    if root.tag != "rss" or root.get("version") != "2.0":
        return ["root element is not rss version 2.0"]
    channels = root.findall("channel")
    if len(channels) != 1:
        return ["rss: must contain exactly one channel"]
    channel = channels[0]
    problems: list[str] = []
    for name in ("title", "link", "description"):
        if channel.find(name) is None or not (channel.findtext(name) or "").strip():
            problems.append(f"channel: missing channel element: {name}")
    if not _absolute(channel.findtext("link")):
        problems.append(f"channel: link is not an absolute URL: {channel.findtext('link')!r}")
    language = channel.findtext("language")
    if language is not None and not LANGUAGE.match(language):
        problems.append(f"channel: invalid language {language!r}")
    selfs = [link for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"]
    if len(selfs) != 1:
        problems.append("channel: missing atom:link with rel=\"self\"")
    elif self_url and selfs[0].get("href") != self_url:
        problems.append(f"channel: self reference does not match document location: {selfs[0].get('href')}")
    for name in ("lastBuildDate", "pubDate"):
        value = channel.findtext(name)
        if value is not None and not _rfc822(value):
            problems.append(f"channel: {name} is not an RFC 822 date: {value!r}")
    guids = []
    for index, item in enumerate(channel.findall("item")):
        where = f"item {index + 1}"
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"{where}: item must contain either title or description")
        problems += _plain_text(item.findtext("title"), f"{where} title")
        guid = item.findall("guid")
        if len(guid) != 1:
            problems.append(f"{where}: item should contain exactly one guid element")
        else:
            guids.append(guid[0].text)
            if guid[0].get("isPermaLink", "true") == "true" and not _absolute(guid[0].text):
                problems.append(f"{where}: guid must be a full URL, unless isPermaLink is false")
        if item.find("link") is not None and not _absolute(item.findtext("link")):
            problems.append(f"{where}: link is not an absolute URL")
        if item.find("pubDate") is not None and not _rfc822(item.findtext("pubDate")):
            problems.append(f"{where}: pubDate is not an RFC 822 date: {item.findtext('pubDate')!r}")
        for encoded in item.findall("{http://purl.org/rss/1.0/modules/content/}encoded"):
            problems += _html_problems(encoded.text or "", f"{where} content:encoded")
        for category in item.findall("category"):
            if not (category.text or "").strip():
                problems.append(f"{where}: empty category")
    if len(guids) != len(set(guids)):
        problems.append("channel: two items share a guid")
    return problems


def json_feed_problems(data: bytes, self_url: str | None = None) -> list[str]:
    doc = json.loads(data)
    problems: list[str] = []
    if doc.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append("version is not https://jsonfeed.org/version/1.1")
    if not isinstance(doc.get("title"), str) or not doc["title"]:
        problems.append("title is required")
    for key in ("home_page_url", "feed_url"):
        if key in doc and not _absolute(doc[key]):
            problems.append(f"{key} is not an absolute URL")
    if self_url and doc.get("feed_url") != self_url:
        problems.append(f"feed_url does not match the document location: {doc.get('feed_url')}")
    if not isinstance(doc.get("items"), list):
        return problems + ["items is required"]
    ids = []
    for index, item in enumerate(doc["items"]):
        where = f"item {index + 1}"
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where}: id must be a non-empty string")
        ids.append(item.get("id"))
        if "content_html" not in item and "content_text" not in item:
            problems.append(f"{where}: content_html or content_text is required")
        for key in ("date_published", "date_modified"):
            if key in item and not _rfc3339(item[key]):
                problems.append(f"{where}: {key} is not RFC 3339")
        if "tags" in item and not (isinstance(item["tags"], list) and all(isinstance(t, str) and t for t in item["tags"])):
            problems.append(f"{where}: tags must be a list of non-empty strings")
        if "url" in item and not _absolute(item["url"]):
            problems.append(f"{where}: url is not an absolute URL")
        problems += _html_problems(item.get("content_html", ""), f"{where} content_html")
    if len(ids) != len(set(ids)):
        problems.append("two items share an id")
    return problems


def opml_problems(data: bytes) -> list[str]:
    root = etree.fromstring(data)
    problems: list[str] = []
    if root.tag != "opml" or root.get("version") != "2.0":
        return ["root element is not opml version 2.0"]
    head, body = root.find("head"), root.find("body")
    if head is None or body is None or len(body) == 0:
        return ["opml: needs a head and a body with at least one outline"]
    modified = head.findtext("dateModified")
    if modified is not None and not _rfc822(modified):
        problems.append(f"head: dateModified is not an RFC 822 date: {modified!r}")
    for index, outline in enumerate(root.iter("outline")):
        if not outline.get("text"):
            problems.append(f"outline {index + 1}: text attribute is required")
        if outline.get("type") == "rss" and not _absolute(outline.get("xmlUrl")):
            problems.append(f"outline {index + 1}: an rss outline needs an absolute xmlUrl")
    return problems


def problems_for(name: str, data: bytes, base_url: str | None = None) -> list[str]:
    """The problems of one published file, by its name (`all.atom`, `region/US.rss`, `feeds.opml`)."""
    self_url = f"{base_url}/feeds/{name}" if base_url else None
    if name.endswith(".atom"):
        return atom_problems(data, self_url)
    if name.endswith(".rss"):
        return rss_problems(data, self_url)
    if name.endswith(".json"):
        return json_feed_problems(data, self_url)
    if name.endswith(".opml"):
        return opml_problems(data)
    raise ValueError(name)


def parse_rfc3339(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
