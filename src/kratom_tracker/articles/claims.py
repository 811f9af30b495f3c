"""An article's text, the places it names and its statements about the law (pure; no I/O, no store).

Everything here is rules and patterns, so a reader can see why a sentence was taken as a claim:
- `read_article` turns HTML (BeautifulSoup with the lxml parser; script, style, nav and forms dropped) or
  plain text into a title and a list of sentences.
- `find_places` names the places: US states and countries by their pycountry names (case-sensitive, longest
  name first, so "West Virginia" is not also "Virginia"), plus `regions.lookup` on the local phrases
  ("Sarasota County", "Tampa, Florida"). It is the ONE place-finding function: pointed at the gazetteer,
  it finds every county and city the gazetteer knows.
- `find_claims` reads sentence by sentence (clause by clause for "legal in X but banned in Y") and keeps
  the sentences that match one of the claim rules (`ClaimKind`): a status for named places, a count of
  states, FDA approval, an age limit, or generic advice ("check your local laws").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from kratom_tracker import regions
from kratom_tracker.regions import Region
from kratom_tracker.vocab import ClaimKind, Status, Substance

MAX_SENTENCE = 600  # characters; a longer "sentence" is a list or a table flattened, not a statement
_DROPPED_TAGS = ("script", "style", "noscript", "template", "nav", "form", "svg", "iframe", "button")
_BLOCK_TAGS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "dd", "dt", "blockquote",
               "figcaption", "summary", "caption", "div", "section", "article")


@dataclass(frozen=True)
class Article:
    """An article as read: where it came from, its title and its sentences in order."""

    source: str
    title: str
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


@dataclass(frozen=True)
class Claim:
    """One statement about the law. `claimed` is a Status value for STATUS and COUNT claims, "approved" or
    "not-approved" for FDA; `regions` are the places it is about (codes); `count` and `min_age` when said."""

    kind: ClaimKind
    text: str
    substance: str = Substance.LEAF.value
    claimed: str = ""
    regions: tuple[str, ...] = ()
    count: int | None = None
    min_age: int | None = None
    rule: str = ""  # which rule matched (shown with the verdict: transparency over cleverness)
    names: tuple[str, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict:
        return {"kind": self.kind.value, "text": self.text, "substance": self.substance, "claimed": self.claimed,
                "regions": list(self.regions), "count": self.count, "min_age": self.min_age, "rule": self.rule}


# -- reading ----------------------------------------------------------------------------------------


def looks_like_html(text: str, content_type: str = "") -> bool:
    if content_type:
        return "html" in content_type or "xml" in content_type
    return bool(re.search(r"<(!doctype html|html|body|p|div|article|h[1-6])\b", text[:5000], re.IGNORECASE))


def read_article(text: str, source: str = "", content_type: str = "") -> Article:
    """HTML or plain text to an Article; the title is the first heading (or `<title>`), else the first line."""
    if looks_like_html(text, content_type):
        title, blocks = _html_blocks(text)
    else:
        blocks = [line.strip() for line in text.splitlines() if line.strip()]
        title = next((b for b in blocks if len(b) > 12), blocks[0] if blocks else "")
    sentences = tuple(s for block in blocks for s in split_sentences(block))
    return Article(source=source, title=" ".join(title.split())[:200], sentences=sentences)


def _html_blocks(html: str) -> tuple[str, list[str]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(_DROPPED_TAGS):
        tag.decompose()
    heading = soup.find(["h1"]) or soup.find("title")
    title = heading.get_text(" ", strip=True) if heading else ""
    body = soup.body or soup
    blocks: list[str] = []
    # The innermost blocks only: a <div> holding <p>s is read through its paragraphs, once.
    for element in body.find_all(_BLOCK_TAGS):
        if element.find(_BLOCK_TAGS) is not None:
            continue
        text = " ".join(element.get_text(" ", strip=True).split())
        if text:
            blocks.append(text)
    if not blocks:
        blocks = [line for line in (" ".join(t.split()) for t in body.get_text("\n").splitlines()) if line]
    return title, blocks


# "U.S." and "D.C." do not end a sentence; a capital (or a digit, a quote) starts the next one.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<![A-Z]\.[A-Z]\.)(?<!\b[A-Z][a-z]\.)\s+(?=[\"“'(\[]?[A-Z0-9])")


def split_sentences(block: str) -> list[str]:
    block = block.strip().lstrip("•·-–—* ").strip()
    return [s.strip(" -") for s in _SENTENCE_END.split(block) if s.strip(" -")]


# -- places ------------------------------------------------------------------------------------------

_EXTRA_NAMES = {
    "United States": "US", "U.S.": "US", "USA": "US", "U.S.A.": "US", "America": "US", "UK": "GB",
    "United Kingdom": "GB", "Britain": "GB", "Washington, D.C.": "US-DC", "Washington DC": "US-DC",
    "Washington D.C.": "US-DC", "D.C.": "US-DC", "Russia": "RU", "South Korea": "KR", "Vietnam": "VN",
    "Laos": "LA", "Czech Republic": "CZ", "Netherlands": "NL", "the Netherlands": "NL",
}
_NOT_PLACES = {"North America", "South America", "Latin America", "Southeast Asia"}  # consumed, never kept


@lru_cache(maxsize=1)
def _names() -> tuple[re.Pattern[str], dict[str, tuple[str, ...]]]:
    """Every US subdivision and country name (pycountry), case-sensitive, longest first."""
    import pycountry

    table: dict[str, set[str]] = {}
    for sub in pycountry.subdivisions.get(country_code="US") or []:
        table.setdefault(sub.name, set()).add(sub.code)
    for country in pycountry.countries:
        for attr in ("name", "common_name"):
            value = getattr(country, attr, None)
            if value and "," not in value and "(" not in value:
                table.setdefault(value, set()).add(country.alpha_2)
    for name, code in _EXTRA_NAMES.items():
        table.setdefault(name, set()).add(code)
    for name in _NOT_PLACES:
        table[name] = set()
    alternation = "|".join(re.escape(n) for n in sorted(table, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.])(?:{alternation})(?![\w])")
    return pattern, {k: tuple(sorted(v)) for k, v in table.items()}


_STATE_NAMES = r"[A-Z][a-z]+(?: [A-Z][a-z]+)?"
_LOCAL_PHRASES = (
    # "Sarasota County", "Orleans Parish", "Jefferson County, Alabama"
    re.compile(rf"\b(?:[A-Z][a-z]+ ){{1,3}}(?:County|Parish|Borough)\b(?:, {_STATE_NAMES})?"),
    # "the City of Denver", "Town of X"
    re.compile(r"\b(?:City|Town|Village) of [A-Z][a-z]+(?: [A-Z][a-z]+){0,2}\b"),
    # "Tampa, Florida", "San Diego, California" (a gazetteer place with its state)
    re.compile(rf"\b[A-Z][a-z]+(?: [A-Z][a-z]+){{0,2}}, {_STATE_NAMES}\b"),
)


def find_places(text: str, prefer_us: bool | None = None) -> list[Region]:
    """The places `text` names, in order of first mention, each once. A name that is a country and a US
    state ("Georgia") is the state when `prefer_us` (the article names US states), or when it is None and
    the text names another US state; else the country."""
    pattern, table = _names()
    local: list[tuple[int, int, str]] = []  # a locality's phrase holds its state's name: that is not a second place
    for phrase_pattern in _LOCAL_PHRASES:
        for match in phrase_pattern.finditer(text):
            code = _local_code(match.group(0))
            if code:
                local.append((match.start(), match.end(), code))
    mentions: list[tuple[int, tuple[str, ...]]] = [(start, (code,)) for start, _, code in local]
    for match in pattern.finditer(text):
        codes = table.get(match.group(0), ())
        if codes and not any(start <= match.start() < end for start, end, _ in local):
            mentions.append((match.start(), codes))
    mentions.sort(key=lambda m: m[0])
    found: list[str] = []
    ambiguous: list[tuple[int, tuple[str, ...]]] = []
    for _, codes in mentions:
        if len(codes) == 1:
            found.append(codes[0])
        else:
            ambiguous.append((len(found), codes))
    has_us_state = any(c.startswith("US-") for c in found) if prefer_us is None else prefer_us
    for position, codes in reversed(ambiguous):
        us = [c for c in codes if c.startswith("US-")]
        found.insert(position, us[0] if us and has_us_state else next((c for c in codes if "-" not in c), codes[0]))
    out: list[Region] = []
    for code in dict.fromkeys(found):
        try:
            out.append(regions.lookup(code))
        except regions.UnknownRegion:
            continue
    return out


def _local_code(phrase: str) -> str | None:
    """`regions.lookup` on a local phrase, kept only when it names a place below a state (a locality)."""
    candidate = re.sub(r"^(?:the )?(?:City|Town|Village) of ", "", phrase)
    try:
        code = regions.lookup(candidate).code
    except regions.UnknownRegion:
        return None
    return code if "/" in code else None


# -- claims ------------------------------------------------------------------------------------------

_SUBJECT = re.compile(r"\b(?:kratom|ketum|kratum|mitragyn\w*|7-?OH|7-hydroxy\w*|it|the (?:herb|plant|leaf|substance|"
                      r"product)s?)\b", re.IGNORECASE)
_SEVEN_OH = re.compile(r"\b7-?OH\b|7-hydroxy", re.IGNORECASE)
_KRATOM = re.compile(r"\bkratom|ketum|mitragyn", re.IGNORECASE)

# The status words, most restrictive first (a sentence saying "illegal" must not read as "legal").
_STATUS_WORDS: tuple[tuple[Status, re.Pattern[str]], ...] = (
    (Status.BANNED, re.compile(r"\b(?:banned|bans|ban on|illegal|unlawful|prohibited|prohibits|outlawed|outlaws|"
                               r"criminali[sz]ed|a controlled substance|schedule (?:i|1)\b(?! only)|scheduled)\b",
                               re.IGNORECASE)),
    (Status.REGULATED, re.compile(r"\b(?:regulated|regulates|restricted|restricts|age limit|age restriction|"
                                  r"consumer protection act|kcpa|licen[cs]ed?)\b", re.IGNORECASE)),
    (Status.LEGAL, re.compile(r"\b(?:legal|lawful|allowed|permitted|legali[sz]ed|unregulated)\b"
                              r"(?!\s+(?:status|landscape|advice|issues?|questions?|framework|situation|gr[ae]y|"
                              r"area|implications|considerations|standing))", re.IGNORECASE)),
)
_NEGATION = re.compile(r"\b(?:not|no longer|isn't|aren't|never|nor)\b(?:\s+\w+){0,2}\s*$", re.IGNORECASE)
_CLAUSES = re.compile(r"\s*(?:;|,? but |,? while |,? whereas |,? although |,? though )\s*", re.IGNORECASE)
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10, "eleven": 11, "twelve": 12, "a dozen": 12, "fifty": 50, "all 50": 50, "all fifty": 50}
_COUNT_WORD = r"(?P<n>\d{1,2}|" + "|".join(_NUMBERS) + r")"
_COUNT = (
    re.compile(rf"\b(?P<word>banned|illegal|prohibited|legal|regulated|restricted)\b[^.;]{{0,30}}?\b(?:in|across|by)"
               rf" (?:at least |only |about )?{_COUNT_WORD} (?:U\.?S\.? |US |American )?states\b", re.IGNORECASE),
    re.compile(rf"\b{_COUNT_WORD} (?:U\.?S\.? |US |American )?states (?:have |that have )?(?:now )?"
               rf"(?P<word>banned|ban|prohibit|prohibited|outlawed|regulate|regulated|legali[sz]ed)\b",
               re.IGNORECASE),
)
_FDA_NOT = re.compile(r"\bnot (?:been )?(?:an? )?FDA[- ]approved|\bnot (?:been )?approved by the (?:U\.?S\.? )?(?:FDA|Food "
                      r"and Drug Administration)|\b(?:FDA|Food and Drug Administration) (?:has )?(?:not|never) approved|"
                      r"\bno FDA[- ]approv|\bunapproved\b", re.IGNORECASE)
_FDA_YES = re.compile(r"\b(?:is|are|been) (?:now )?FDA[- ]approved|\bapproved by the FDA\b", re.IGNORECASE)
_AGE = re.compile(r"\b(?:must be|at least|aged?|age of|over|under|minimum age (?:of|is)?)\s*(?P<a>18|19|21)\b|"
                  r"\b(?P<b>18|19|21)\s*(?:\+|or older|and older|and over|years? (?:of age )?or older|years? old)",
                  re.IGNORECASE)
_AGE_CONTEXT = re.compile(r"\b(?:buy|purchase|sell|sold|sale|possess|minors?|age|older|adults?)\b", re.IGNORECASE)
_VAGUE = (
    ("check-local-laws", re.compile(r"\b(?:check|consult|review|research|look up|verify)\b[^.;]{0,30}\b(?:local|state|"
                                    r"regional|national|your) (?:laws?|regulations?|rules|ordinances|legislation)",
                                    re.IGNORECASE)),
    ("varies-by-region", re.compile(r"\b(?:legal(?:ity)?|legal status|laws?)\b[^.;?]{0,60}\b(?:var(?:y|ies|"
                                    r"ying|iable)|inconsistent|differs?|different|depends?|changing|patchwork)\b",
                                    re.IGNORECASE)),
    ("varies-by-region", re.compile(r"\b(?:variability|variation|patchwork|inconsistency|differences) (?:of|in) "
                                    r"(?:the )?(?:legal status|laws?|legality|regulations?)", re.IGNORECASE)),
    ("in-your-area", re.compile(r"\b(?:legal(?:ity)?|legal status|laws?)\b[^.;]{0,40}\bin your (?:area|region|state|"
                                r"country|jurisdiction|location|city)\b", re.IGNORECASE)),
    ("discuss-legality", re.compile(r"\b(?:discuss|consider|understand|know|research)\b[^.;]{0,50}\blegality\b",
                                    re.IGNORECASE)),
)


def find_claims(article: Article) -> list[Claim]:
    """Every claim in the article's sentences, in reading order."""
    about_kratom = bool(_KRATOM.search(article.title + " " + article.text))
    prefer_us = any(p.code.startswith("US-") for p in find_places(article.title + ". " + article.text))
    claims: list[Claim] = []
    for sentence in article.sentences:
        if len(sentence) > MAX_SENTENCE:
            continue
        claims.extend(sentence_claims(sentence, about_kratom, prefer_us))
    return claims


def sentence_claims(sentence: str, about_kratom: bool = True, prefer_us: bool | None = None) -> list[Claim]:
    """The claims of one sentence: vague advice, FDA approval, a count of states, an age limit, and a
    status per named place (per clause)."""
    out: list[Claim] = []
    question = sentence.rstrip().endswith("?")
    for rule, pattern in _VAGUE:
        if pattern.search(sentence):
            out.append(Claim(ClaimKind.VAGUE, sentence, rule=rule))
            break
    if question or not about_kratom:
        return out
    substance = _substance(sentence)
    if _FDA_NOT.search(sentence) or _FDA_YES.search(sentence):
        claimed = "not-approved" if _FDA_NOT.search(sentence) else "approved"
        out.append(Claim(ClaimKind.FDA, sentence, substance, claimed, ("US",), rule="fda-" + claimed))
    count = _count_claim(sentence, substance)
    if count is not None:
        out.append(count)
    age = _AGE.search(sentence)
    places = find_places(sentence, prefer_us)
    if age and _AGE_CONTEXT.search(sentence) and not _FDA_NOT.search(sentence):
        years = int(age.group("a") or age.group("b"))
        out.append(Claim(ClaimKind.AGE, sentence, substance, Status.REGULATED.value,
                         tuple(p.code for p in places), min_age=years, rule="age",
                         names=tuple(p.name for p in places)))
    if out and out[-1].kind in (ClaimKind.COUNT, ClaimKind.FDA) and not places:
        return out
    for clause in _CLAUSES.split(sentence):
        claim = _status_claim(clause, sentence, substance, prefer_us)
        if claim is not None and not any(c.kind is ClaimKind.AGE and set(c.regions) & set(claim.regions)
                                         and claim.claimed == Status.REGULATED for c in out):
            out.append(claim)
    return out


def _substance(text: str) -> str:
    return (Substance.SEVEN_OH if _SEVEN_OH.search(text) else Substance.LEAF).value


def _count_claim(sentence: str, substance: str) -> Claim | None:
    for pattern in _COUNT:
        match = pattern.search(sentence)
        if match:
            word = match.group("word").lower()
            n = match.group("n").lower()
            count = int(n) if n.isdigit() else _NUMBERS[n]
            status = _word_status(word)
            if _NEGATION.search(sentence[:match.start("word")]):
                status = _negate(status)
            return Claim(ClaimKind.COUNT, sentence, substance, status.value, ("US",), count=count, rule="count")
    return None


def _word_status(word: str) -> Status:
    for status, pattern in _STATUS_WORDS:
        if pattern.fullmatch(word) or pattern.search(word):
            return status
    return Status.UNKNOWN


def _negate(status: Status) -> Status:
    return Status.LEGAL if status in (Status.BANNED, Status.REGULATED) else Status.BANNED


def _status_claim(clause: str, sentence: str, substance: str, prefer_us: bool | None = None) -> Claim | None:
    """A status for the places one clause names ("kratom is banned in Alabama and Indiana")."""
    if not _SUBJECT.search(clause) and not _SUBJECT.search(sentence):
        return None
    for status, pattern in _STATUS_WORDS:
        match = pattern.search(clause)
        if not match:
            continue
        places = [p for p in find_places(clause, prefer_us) if p.code != "US" or "federal" in clause.lower()
                  or re.search(r"\b(?:United States|U\.S\.|USA|America)\b", clause)]
        if not places:
            return None
        claimed = _negate(status) if _NEGATION.search(clause[:match.start()]) else status
        return Claim(ClaimKind.STATUS, sentence, _substance(clause) if _SEVEN_OH.search(clause) else substance,
                     claimed.value, tuple(p.code for p in places), rule=f"status-word:{match.group(0).lower()}",
                     names=tuple(p.name for p in places))
    return None
