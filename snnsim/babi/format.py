"""The bAbI v1.2 text format.

One line per sentence, ``ID text``; ids count from 1 and restart at 1 where a new story begins.
A question line is ``ID question?<TAB>answer<TAB>supporting ids`` (a space may stand before the
first tab; the supporting ids are space-separated and not necessarily sorted; an answer of
several words is comma-joined, ``apple,football``). Questions are not memories: the sample of a
question is the story's statements before it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Union

from snnsim.errors import FileFormatError
from snnsim.io.atomic import atomic_path


@dataclass(frozen=True)
class Statement:
    id: int
    text: str          #: ``Mary moved to the bathroom.``


@dataclass(frozen=True)
class Question:
    id: int
    text: str          #: ``Where is Mary?``
    answer: tuple      #: words of the answer, ``("bathroom",)``
    supports: tuple    #: ids of the supporting statements, in the file's order


Line = Union[Statement, Question]


@dataclass(frozen=True)
class Story:
    lines: tuple       #: Statement and Question objects, ids 1, 2, ...


def _parse_line(raw: str, where: str) -> Line:
    head, sep, rest = raw.partition(" ")
    if not sep or not head.isdigit() or int(head) < 1:
        raise FileFormatError(f"{where}: expected 'ID text' with a positive integer ID, got {raw!r}")
    ident = int(head)
    if "\t" not in rest:
        text = rest.strip()
        if not text:
            raise FileFormatError(f"{where}: sentence {ident} is empty")
        return Statement(ident, text)
    parts = rest.split("\t")
    if len(parts) != 3:
        raise FileFormatError(f"{where}: a question line needs 'text<TAB>answer<TAB>supporting ids', "
                              f"got {len(parts)} tab-separated fields")
    text, answer, supports = parts[0].strip(), parts[1].strip(), parts[2].split()
    if not text or not answer:
        raise FileFormatError(f"{where}: question {ident} has an empty {'text' if not text else 'answer'}")
    if not all(s.isdigit() for s in supports):
        raise FileFormatError(f"{where}: supporting ids must be integers, got {parts[2].strip()!r}")
    return Question(ident, text, tuple(answer.split(",")), tuple(int(s) for s in supports))


def parse_babi(lines: Iterable[str], name: str = "<text>") -> list[Story]:
    """Stories from the lines of a bAbI file; FileFormatError naming ``name`` and the line number."""
    stories, current = [], []
    for number, raw in enumerate(lines, 1):
        raw = raw.rstrip("\n").rstrip("\r")
        if not raw.strip():
            continue
        where = f"{name}: line {number}"
        line = _parse_line(raw, where)
        if line.id == 1 and current:
            stories.append(Story(tuple(current)))
            current = []
        expected = len(current) + 1
        if line.id != expected:
            raise FileFormatError(f"{where}: sentence id {line.id}, expected {expected} (or 1 to start a story)")
        if isinstance(line, Question):
            told = {s.id for s in current if isinstance(s, Statement)}
            bad = [s for s in line.supports if s not in told]
            if bad:
                raise FileFormatError(f"{where}: supporting id(s) {bad} are not statements before question {line.id}")
        current.append(line)
    if current:
        stories.append(Story(tuple(current)))
    return stories


def read_babi(path) -> list[Story]:
    """The stories of one bAbI file."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise FileFormatError(f"{path}: cannot read: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise FileFormatError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return parse_babi(text.splitlines(), path)


def format_babi(stories: Iterable[Story]) -> str:
    """The text of a bAbI file, in the release's style (a space before the question's tab)."""
    out = []
    for story in stories:
        for line in story.lines:
            if isinstance(line, Question):
                out.append(f"{line.id} {line.text} \t{','.join(line.answer)}\t{' '.join(map(str, line.supports))}")
            else:
                out.append(f"{line.id} {line.text}")
    return "".join(s + "\n" for s in out)


def write_babi(stories: Iterable[Story], path) -> str:
    """Write ``stories`` to ``path`` atomically; returns the path."""
    text = format_babi(stories)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return os.fspath(path)


def samples(stories: Iterable[Story]) -> list[tuple[list[str], str, tuple, tuple]]:
    """One ``(memories, question, answer, supports)`` per question: the story's statements before it
    (oldest first), the question's text, its answer words, and the indices of the supporting
    statements in ``memories``."""
    out = []
    for story in stories:
        told, index = [], {}
        for line in story.lines:
            if isinstance(line, Statement):
                index[line.id] = len(told)
                told.append(line.text)
            else:
                out.append((list(told), line.text, line.answer, tuple(index[s] for s in line.supports)))
    return out
