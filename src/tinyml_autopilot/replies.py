"""The text of replies and errors as the loop reads and repeats them: code blocks, trimmed errors."""

from __future__ import annotations

import re

from .failures import FormatError
from .llm.base import excerpt

FENCE = re.compile(r"```[ \t]*([\w+.#-]*)[^\n]*\n(.*?)```", re.DOTALL)
MAX_ERROR_CHARS = 3000
MAX_ECHO_CHARS = 20_000  # a reply repeated in a repair request (a 50 MB one would be sent whole)


def extract_code(text: str, language: str) -> str:
    """The first fenced block (preferring one tagged with `language`); FormatError if none."""
    blocks = FENCE.findall(text or "")
    if not blocks:
        raise FormatError(f"the reply has no fenced ```{language} code block")
    tagged = [body for tag, body in blocks if tag.lower() in _aliases(language)]
    return (tagged or [body for _, body in blocks])[0].strip() + "\n"


def _aliases(language: str) -> set[str]:
    groups = [{"python", "py", "python3"}, {"cpp", "c++", "ino", "arduino", "c"}, {"json"}]
    return next((g for g in groups if language in g), {language})


def trim(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """Keep the head and the tail of a long error; the tail usually says what went wrong."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = limit // 3
    return text[:head] + "\n[... trimmed ...]\n" + text[-(limit - head):]


def failing_lines(code: str, lines: list[int], context: int = 2) -> str:
    source = code.splitlines()
    shown: list[str] = []
    for n in sorted(set(lines))[:6]:
        lo, hi = max(1, n - context), min(len(source), n + context)
        shown += [f"{i:4d}{'>' if i == n else ' '} {source[i - 1]}" for i in range(lo, hi + 1)]
        shown.append("   ...")
    return "\n".join(shown)


def echo(reply: str, language: str) -> str:
    """The reply as the conversation repeats it: whole when short, else its code or a bounded excerpt."""
    if not reply:
        return "(empty reply)"
    if len(reply) <= MAX_ECHO_CHARS:
        return reply
    try:
        code = extract_code(reply, language)
    except FormatError:
        return excerpt(reply, MAX_ECHO_CHARS)
    left_out = f"[the rest of the {len(reply):,}-character reply is left out]"
    return f"```{language}\n{excerpt(code, MAX_ECHO_CHARS)}```\n{left_out}"
