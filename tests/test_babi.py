"""bAbI format reader/writer, folder layout, and the story generator (checked by re-simulation)."""

import re

import pytest

from snnsim.babi import (Question, Statement, find_task_files, generate_task, parse_babi, read_babi, samples,
                         write_babi)
from snnsim.babi.world import World
from snnsim.errors import FileFormatError

# the exact public format: a space before the tab, unsorted ids, comma-joined answers, ids restart
HAND = ("1 Mary moved to the bathroom.\n"
        "2 John went to the hallway.\n"
        "3 Where is Mary? \tbathroom\t1\n"
        "4 Mary got the apple there.\n"
        "5 Mary picked up the football there.\n"
        "6 What is Mary carrying?\tapple,football\t5 4\n"
        "1 Sandra went to the garden.\n"
        "2 Where is Sandra? \tgarden\t1\n")


def test_reader_parses_the_public_format(tmp_path):
    path = tmp_path / "qa1_single-supporting-fact_train.txt"
    path.write_text(HAND)
    stories = read_babi(path)
    assert len(stories) == 2
    first = stories[0].lines
    assert first[0] == Statement(1, "Mary moved to the bathroom.")
    assert first[2] == Question(3, "Where is Mary?", ("bathroom",), (1,))
    assert first[5] == Question(6, "What is Mary carrying?", ("apple", "football"), (5, 4))
    assert stories[1].lines[1] == Question(2, "Where is Sandra?", ("garden",), (1,))
    got = samples(stories)
    # questions are not memories; supports index the memories (statements 4 and 5 -> memories 2 and 3)
    assert got[1] == (["Mary moved to the bathroom.", "John went to the hallway.", "Mary got the apple there.",
                       "Mary picked up the football there."], "What is Mary carrying?", ("apple", "football"), (3, 2))
    assert got[2] == (["Sandra went to the garden."], "Where is Sandra?", ("garden",), (0,))


def test_writer_round_trips(tmp_path):
    stories = parse_babi(HAND.splitlines(True))
    out = write_babi(stories, tmp_path / "x.txt")
    assert read_babi(out) == stories
    # the writer keeps the release's spelling of question lines
    assert "3 Where is Mary? \tbathroom\t1\n" in open(out).read()
    assert "6 What is Mary carrying? \tapple,football\t5 4\n" in open(out).read()


@pytest.mark.parametrize("text, line, words", [
    ("1 Mary moved.\n3 John moved.\n", 2, "sentence id 3, expected 2"),
    ("1 Mary moved.\nx Where?\ta\t1\n", 2, "positive integer ID"),
    ("1 Mary moved.\n2 Where is Mary?\tbathroom\n", 2, "tab-separated"),
    ("1 Mary moved.\n2 Where is Mary?\tbathroom\t7\n", 2, "[7]"),
    ("1 Mary moved.\n2 Where is Mary?\tbathroom\tone\n", 2, "integers"),
    ("1 Mary moved.\n2 Where is Mary?\tbathroom\t2\n", 2, "[2]"),
])
def test_malformed_files_name_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(FileFormatError) as err:
        read_babi(path)
    assert f"{path}: line {line}:" in str(err.value) and words in str(err.value)


def test_bad_input_never_overwrites(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("keep")
    with pytest.raises(Exception):
        write_babi([object()], path)
    assert path.read_text() == "keep"


def test_layout_finds_release_folders(tmp_path):
    for sub in ("en", "en-10k"):
        (tmp_path / sub).mkdir()
        for split in ("train", "test"):
            (tmp_path / sub / f"qa2_two-supporting-facts_{split}.txt").write_text(HAND)
    assert find_task_files(tmp_path, 2, "1k") == (str(tmp_path / "en" / "qa2_two-supporting-facts_train.txt"),
                                                  str(tmp_path / "en" / "qa2_two-supporting-facts_test.txt"))
    assert find_task_files(tmp_path, 2, "10k")[0].endswith("en-10k/qa2_two-supporting-facts_train.txt")
    assert find_task_files(tmp_path / "en", 2)[1].endswith("en/qa2_two-supporting-facts_test.txt")
    with pytest.raises(FileFormatError, match="qa3"):
        find_task_files(tmp_path, 3)


# ------------------------------------------------------------------ generator, checked by re-simulation
GO = re.compile(r"^(\w+) (?:moved to|went to|journeyed to|travelled to|went back to) the (\w+)\.$")
GET = re.compile(r"^(\w+) (?:got|picked up|grabbed|took) the (\w+) there\.$")
DROP = re.compile(r"^(\w+) (?:dropped|discarded|put down|left) the (\w+)\.$")


def _resimulate(story):
    """Replay the story's text with plain dicts; answer each question from the replay."""
    person, held_by, lying, trail = {}, {}, {}, {}
    answers = []

    def obj_place(o):
        return person[held_by[o]] if o in held_by else lying.get(o)

    for line in story.lines:
        if isinstance(line, Statement):
            if m := GO.match(line.text):
                a, p = m.groups()
                assert person.get(a) != p, f"{a} goes where it already is: {line}"
                person[a] = p
                for o, h in held_by.items():
                    if h == a and trail[o][-1] != p:
                        trail[o].append(p)
            elif m := GET.match(line.text):
                a, o = m.groups()
                assert o not in held_by and a in person, line
                assert lying.get(o, person[a]) == person[a], f"{a} gets {o} from elsewhere: {line}"
                held_by[o] = a
                lying.pop(o, None)
                trail.setdefault(o, [])
                if not trail[o] or trail[o][-1] != person[a]:
                    trail[o].append(person[a])
            elif m := DROP.match(line.text):
                a, o = m.groups()
                assert held_by.get(o) == a, line
                lying[o] = person[a]
                del held_by[o]
            else:
                raise AssertionError(f"unknown sentence {line}")
            continue
        text = line.text
        if m := re.match(r"^Where is (\w+)\?$", text):
            answers.append((person[m.group(1)],))
        elif m := re.match(r"^Where is the (\w+)\?$", text):
            answers.append((obj_place(m.group(1)),))
        elif m := re.match(r"^Is (\w+) in the (\w+)\?$", text):
            answers.append(("yes" if person[m.group(1)] == m.group(2) else "no",))
        elif m := re.match(r"^Where was the (\w+) before the (\w+)\?$", text):
            t = trail[m.group(1)]  # the object's last change of place (bAbI-tasks' WhereWasObject)
            assert len(t) >= 2 and t[-1] == m.group(2), (text, t)
            answers.append((t[-2],))
        else:
            raise AssertionError(f"unknown question {line}")
        assert answers[-1] == line.answer, (story, line)
    return answers


@pytest.mark.parametrize("task", [1, 2, 3, 6])
def test_generator_answers_agree_with_a_resimulation(task):
    stories = generate_task(task, 300, seed=5)
    assert sum(isinstance(line, Question) for s in stories for line in s.lines) == 300
    n = 0
    for story in stories:
        n += len(_resimulate(story))
    assert n == 300
    assert generate_task(task, 300, seed=5) == stories
    assert generate_task(task, 300, seed=6) != stories
    if task == 6:
        answers = [line.answer[0] for s in stories for line in s.lines if isinstance(line, Question)]
        assert 0.35 < answers.count("yes") / len(answers) < 0.65


@pytest.mark.parametrize("task, n_support", [(1, {1}), (2, {2}), (6, {1})])
def test_generator_supports_are_the_told_facts(task, n_support):
    for story in generate_task(task, 200, seed=1):
        told = {line.id: line.text for line in story.lines if isinstance(line, Statement)}
        for q in (line for line in story.lines if isinstance(line, Question)):
            assert len(q.supports) in n_support, q
            assert all(s < q.id for s in q.supports)
            if task in (1, 6):  # the actor's last move before the question
                actor = q.text.split()[1] if task == 6 else q.text.split()[2].rstrip("?")
                moves = [i for i, t in told.items() if i < q.id and t.startswith(actor + " ") and GO.match(t)]
                assert q.supports == (max(moves),)


def test_world_give_moves_objects_with_the_taker():
    w = World()
    w.go("Mary", "kitchen", 1)
    w.go("John", "kitchen", 2)
    w.get("Mary", "apple", 3)
    assert not w.can_give("Mary", "apple", "Mary")
    w.give("Mary", "apple", "John", 4)
    w.go("John", "garden", 5)
    assert w.where_object("apple") == ("garden", (4, 5))
    assert [p for p, _ in w.history["apple"]] == ["kitchen", "garden"]
    w.go("Mary", "office", 6)
    assert not w.can_give("John", "apple", "Mary")
    w.drop("John", "apple", 7)
    assert w.where_object("apple") == ("garden", (5, 7))
    assert not w.can_get("Mary", "apple")
