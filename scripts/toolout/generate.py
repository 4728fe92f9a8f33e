#!/usr/bin/env python3
"""Generate the `pith eval toolout` cases from real programs' tool output.

How to run (from the repository root; takes roughly 10-20 minutes, mostly
pip/cargo installs on the first run; later runs reuse the scratch dir):

    python3 scripts/toolout/generate.py            # all kinds
    python3 scripts/toolout/generate.py --only pytest,traceback   # a subset (debugging)

It writes eval/toolout/dev.jsonl.gz and eval/toolout/held.jsonl.gz (only when
run without --only) and prints counts and token sizes.

Needs: Python 3.11 with pip and venv, gcc, git, cargo (with the registry
sources under ~/.cargo/registry), network access to the package registries
through pip/cargo only (pinned versions, see PINS below), and the sdists in
/work/shared/eval/code/ (click, flask, requests, rich). Scratch files go to
$TOOLOUT_SCRATCH (default /work/toolout-scratch/gen), never into git.

Every tool output here is the real stdout+stderr of a real program run on
real package sources; nothing is written by hand.  Bugs are injected with
exact, asserted string replacements in a copy of the source.  Gold lines are
picked mechanically by parsing the output, and each is asserted to appear
verbatim as a whole line (or, for compact JSON, as a substring).

Determinism: pinned versions, fixed inputs, sorted orders, fixed environment
(PYTHONHASHSEED=0, TZ=UTC, LC_ALL=C, COLUMNS=120).  Durations printed by the
programs ("in 3.21s") vary between runs and are left as printed; no gold
choice depends on them.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT_DIR = REPO / "eval" / "toolout"
SCRATCH = Path(os.environ.get("TOOLOUT_SCRATCH", "/work/toolout-scratch/gen"))
LOCAL_SDISTS = Path(os.environ.get("TOOLOUT_SDISTS", "/work/shared/eval/code"))
PY = os.environ.get("TOOLOUT_PYTHON", sys.executable)

# --------------------------------------------------------------------------
# Pinned packages
# --------------------------------------------------------------------------

# sdists whose sources (and test suites) are used.
SDISTS = {
    "click": "8.5.1",  # local
    "flask": "3.1.3",  # local
    "requests": "2.34.2",  # local
    "rich": "15.0.0",  # local
    "jinja2": "3.1.6",
    "markupsafe": "3.0.2",
    "itsdangerous": "2.2.0",
    "packaging": "25.0",
    "more-itertools": "10.7.0",
    "simplejson": "3.20.1",
    "attrs": "25.3.0",
}

# test tooling, pinned (installed with --no-deps so nothing floats).
PYTEST = ["pytest==8.3.5", "pluggy==1.5.0", "iniconfig==2.1.0"]
PINS = {
    # project: extra pinned wheels for its test environment
    "click": PYTEST + ["packaging==25.0"],
    "flask": PYTEST
    + [
        "packaging==25.0",
        "werkzeug==3.1.3",
        "jinja2==3.1.6",
        "markupsafe==3.0.2",
        "itsdangerous==2.2.0",
        "click==8.2.1",
        "blinker==1.9.0",
    ],
    "jinja2": PYTEST
    + [
        "packaging==25.0",
        "markupsafe==3.0.2",
        "trio==0.30.0",
        "attrs==25.3.0",
        "sortedcontainers==2.4.0",
        "idna==3.10",
        "outcome==1.3.0.post0",
        "sniffio==1.3.1",
    ],
    "markupsafe": PYTEST + ["packaging==25.0"],
    "itsdangerous": PYTEST
    + ["packaging==25.0", "freezegun==1.5.1", "python-dateutil==2.9.0.post0", "six==1.17.0"],
    "packaging": PYTEST + ["packaging==25.0", "pretend==1.0.9"],
    "more-itertools": [],
    "simplejson": [],
    "requests": [
        "urllib3==2.4.0",
        "idna==3.10",
        "charset-normalizer==3.4.2",
        "certifi==2025.4.26",
    ],
    "tools": [
        "requests==2.32.3",
        "urllib3==2.4.0",
        "idna==3.10",
        "charset-normalizer==3.4.2",
        "certifi==2025.4.26",
        "jinja2==3.1.6",
        "markupsafe==3.0.2",
        "click==8.2.1",
        "pyyaml==6.0.2",
        "html2text==2025.4.15",
        "flask==3.1.3",
        "werkzeug==3.1.3",
        "itsdangerous==2.2.0",
        "blinker==1.9.0",
    ]
    + PYTEST,
}

BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": os.environ.get("HOME", "/root"),
    "PYTHONHASHSEED": "0",
    "TZ": "UTC",
    "LC_ALL": "C",
    "LANG": "C",
    "COLUMNS": "120",
    "LINES": "40",
    "PYTHONDONTWRITEBYTECODE": "1",
    "TERM": "dumb",
}

CASES: list[dict] = []


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def env_for(venv: Path | None = None, extra: dict | None = None) -> dict:
    e = dict(BASE_ENV)
    if venv is not None:
        e["PATH"] = f"{venv}/bin:" + e["PATH"]
        e["VIRTUAL_ENV"] = str(venv)
    cargo_bin = Path(e["HOME"]) / ".cargo" / "bin"
    e["PATH"] = e["PATH"] + f":{cargo_bin}"
    if extra:
        e.update(extra)
    return e


def pip_env() -> dict:
    e = dict(os.environ)
    e["PYTHONHASHSEED"] = "0"
    return e


def run(cmd, cwd, env, timeout=1800, shell=False) -> tuple[str, int]:
    """Run a command; return (stdout+stderr interleaved, exit code)."""
    if not shell:
        # Address-space randomisation off, so object addresses printed in
        # reprs (<X object at 0x7ffff...>) are the same from run to run.
        cmd = ["setarch", os.uname().machine, "-R", *cmd]
    p = subprocess.run(
        cmd,
        cwd=str(cwd),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        shell=shell,
    )
    return p.stdout.decode("utf-8", "replace"), p.returncode


def check(cmd, cwd=None, env=None):
    p = subprocess.run(cmd, cwd=cwd, env=env or pip_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        log(p.stdout.decode("utf-8", "replace")[-4000:])
        raise SystemExit(f"command failed: {cmd}")
    return p.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------
# Sources and venvs
# --------------------------------------------------------------------------


def sdist_path(name: str) -> Path:
    ver = SDISTS[name]
    for cand in (LOCAL_SDISTS, SCRATCH / "dl"):
        if cand.is_dir():
            for f in sorted(cand.iterdir()):
                n = f.name.lower().replace("_", "-")
                if n == f"{name}-{ver}.tar.gz":
                    return f
    (SCRATCH / "dl").mkdir(parents=True, exist_ok=True)
    check([PY, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", str(SCRATCH / "dl"), f"{name}=={ver}"])
    return sdist_path(name)


def unpack(name: str, dest_parent: Path, fresh: bool = True) -> Path:
    """Unpack the pinned sdist of `name` into dest_parent; return its root."""
    sd = sdist_path(name)
    with tarfile.open(sd) as tf:
        top = tf.getnames()[0].split("/")[0]
        root = dest_parent / top
        if root.exists() and not fresh:
            return root
        if root.exists():
            shutil.rmtree(root)
        dest_parent.mkdir(parents=True, exist_ok=True)
        tf.extractall(dest_parent, filter="data")
    return root


def venv(name: str) -> Path:
    v = SCRATCH / "venvs" / name
    stamp = v / ".done"
    want = "\n".join(PINS.get(name, []))
    if stamp.exists() and stamp.read_text() == want:
        return v
    if v.exists():
        shutil.rmtree(v)
    check([PY, "-m", "venv", str(v)])
    if PINS.get(name):
        check([str(v / "bin" / "python"), "-m", "pip", "install", "--no-deps", *PINS[name]])
    stamp.write_text(want)
    return v


def install_project(v: Path, root: Path, editable=True):
    args = [str(v / "bin" / "python"), "-m", "pip", "install", "--no-deps"]
    args += ["-e", str(root)] if editable else [str(root)]
    check(args)


def replace_once(path: Path, old: str, new: str):
    text = path.read_text()
    n = text.count(old)
    assert n == 1, f"{path}: expected one {old!r}, found {n}"
    path.write_text(text.replace(old, new))


def clean_caches(root: Path):
    for p in sorted(root.rglob(".pytest_cache")):
        shutil.rmtree(p, ignore_errors=True)
    for p in sorted(root.rglob("__pycache__")):
        shutil.rmtree(p, ignore_errors=True)


# --------------------------------------------------------------------------
# Gold helpers
# --------------------------------------------------------------------------


def add_case(*, id, kind, split, source, task, assistant, command, output, gold, compact=False):
    assert split in ("dev", "held"), split
    assert gold, f"{id}: no gold"
    lines = set(output.split("\n"))
    seen = []
    for g in gold:
        if g in seen:
            continue
        if compact:
            assert g in output, f"{id}: gold not in output: {g!r}"
        else:
            assert g in lines, f"{id}: gold not a whole line of output: {g!r}"
        assert g not in task, f"{id}: gold appears in task: {g!r}"
        seen.append(g)
    assert all(c.id != id for c in []) if False else True
    assert not any(c["id"] == id for c in CASES), f"duplicate id {id}"
    CASES.append(
        {
            "id": id,
            "kind": kind,
            "split": split,
            "source": source,
            "task": task,
            "assistant": assistant,
            "tool": {"name": "Bash", "input": {"command": command}},
            "output": output,
            "gold": seen,
        }
    )
    log(f"  case {id}: {len(output.splitlines())} lines, {len(seen)} gold")


GOLD_CAP = 40

RE_PYTEST_FINAL_V = re.compile(r"^=+ .*\b(failed|passed|error|errors)\b.* in [0-9.]+s.* =+$")
RE_PYTEST_FINAL_Q = re.compile(r"^\d+ (failed|passed|error|errors)\b.* in [0-9.]+s")
RE_LOC = re.compile(r"^[^\s:][^:]*\.py:\d+: \S")


def pytest_gold(out: str) -> list[str]:
    lines = out.split("\n")
    sections: list[list[str]] = []
    in_fail = False
    summary: list[str] = []
    in_summary = False
    for l in lines:
        if re.match(r"^=+ (FAILURES|ERRORS) =+$", l):
            in_fail = True
            in_summary = False
            continue
        if re.match(r"^=+ short test summary info =+$", l):
            in_fail = False
            in_summary = True
            continue
        if re.match(r"^=+ .* =+$", l) and not re.match(r"^_", l):
            in_fail = False
            in_summary = False
        if in_fail:
            if re.match(r"^_{3,} .+ _{3,}$", l):
                sections.append([])
            elif sections:
                sections[-1].append(l)
        if in_summary and re.match(r"^(FAILED|ERROR) \S", l):
            summary.append(l)
    per_failure: list[list[str]] = []
    for sec in sections:
        g = []
        e = next((l for l in sec if l.startswith("E ")), None)
        if e:
            g.append(e)
        locs = [l for l in sec if RE_LOC.match(l)]
        if locs:
            g.append(locs[0])
            if locs[-1] != locs[0]:
                g.append(locs[-1])
        per_failure.append(g)
    final = [l for l in lines if RE_PYTEST_FINAL_V.match(l) or RE_PYTEST_FINAL_Q.match(l)]
    assert final, "no pytest summary line"
    gold: list[str] = []
    # interleave: test id line, then its error and location lines
    for i, s in enumerate(summary):
        gold.append(s)
        if i < len(per_failure):
            gold.extend(per_failure[i])
    for pf in per_failure[len(summary):]:
        gold.extend(pf)
    dedup: list[str] = []
    for g in gold:
        if g not in dedup:
            dedup.append(g)
    return dedup[: GOLD_CAP - 1] + [final[-1]]


def count_failures(out: str) -> int:
    m = re.search(r"(\d+) failed", out)
    return int(m.group(1)) if m else 0


# --------------------------------------------------------------------------
# Kind: pytest -v / pytest -q
# --------------------------------------------------------------------------

# Each bug: (tag, file relative to project root, old, new, user's story)
PYTEST_BUGS = {
    "click": [
        (
            "choice-msg",
            "src/click/types.py",
            '"{value!r} is not one of {choices}.",',
            '"{value!r} is not among {choices}.",',
            "I reworded the error message for invalid choices in click.Choice",
        ),
        (
            "range-op",
            "src/click/types.py",
            'rop = "<" if self.max_open else "<="',
            'rop = "<=" if self.max_open else "<"',
            "I touched the range description code in click's IntRange/FloatRange",
        ),
        (
            "missing-arg",
            "src/click/exceptions.py",
            'missing = _("Missing argument")',
            'missing = _("Argument missing")',
            "I edited the wording of the missing-argument error in click",
        ),
    ],
    "flask": [
        (
            "sort-keys",
            "src/flask/json/provider.py",
            "    sort_keys = True\n",
            "    sort_keys = False\n",
            "I changed a default in Flask's JSON provider to save some time when serializing",
        ),
        (
            "mimetype",
            "src/flask/json/provider.py",
            '    mimetype = "application/json"\n',
            '    mimetype = "text/json"\n',
            "I changed the content type that Flask's JSON responses use",
        ),
    ],
    "jinja2": [
        (
            "truncate",
            "src/jinja2/filters.py",
            'result = s[: length - len(end)].rsplit(" ", 1)[0]',
            "result = s[: length - len(end)]",
            "I refactored the truncate filter in Jinja",
        ),
        (
            "title",
            "src/jinja2/filters.py",
            "item[0].upper() + item[1:].lower()",
            "item[0].upper() + item[1:]",
            "I sped up Jinja's title filter a bit",
        ),
    ],
    "packaging": [
        (
            "canonical-name",
            "src/packaging/utils.py",
            '_canonicalize_regex = re.compile(r"[-_.]+")',
            '_canonicalize_regex = re.compile(r"[-_]+")',
            "I simplified the regex packaging uses to normalize project names",
        ),
        (
            "compatible",
            "src/packaging/specifiers.py",
            "list(itertools.takewhile(_is_not_suffix, _version_split(spec)))[:-1]",
            "list(itertools.takewhile(_is_not_suffix, _version_split(spec)))[:-2]",
            "I refactored how the ~= (compatible release) specifier is evaluated in packaging",
        ),
    ],
    "itsdangerous": [
        (
            "max-age",
            "src/itsdangerous/timed.py",
            "age = self.get_timestamp() - ts_int",
            "age = ts_int - self.get_timestamp()",
            "I changed the expiry check in itsdangerous' TimestampSigner",
        ),
        (
            "zlib",
            "src/itsdangerous/url_safe.py",
            "if len(compressed) < (len(json) - 1):",
            "if len(compressed) > (len(json) - 1):",
            "I touched the payload compression logic of itsdangerous' URL-safe serializer",
        ),
    ],
    "markupsafe": [
        (
            "apos",
            "src/markupsafe/_native.py",
            """.replace("'", "&#39;")""",
            """.replace("'", "&#x27;")""",
            "I switched the entity markupsafe's pure-Python escape uses for single quotes",
        ),
        (
            "striptags",
            "src/markupsafe/__init__.py",
            'value = " ".join(value.split())',
            'value = " ".join(value.split(" "))',
            "I edited the comment handling in Markup.striptags",
        ),
    ],
}

PYTEST_SPLIT = {
    "click": "dev",
    "jinja2": "dev",
    "packaging": "dev",
    "itsdangerous": "dev",
    "flask": "held",
    "markupsafe": "held",
}

# packaging has ~27,000 tests: its -v log would be far past the size range.
PYTEST_MODES = {"packaging": ("q",)}
MAX_OUTPUT_CHARS = 450_000  # ~110k o200k tokens

PYTEST_TEST_DIR = {"click": "tests/", "flask": "tests/", "jinja2": "tests/", "packaging": "tests/", "itsdangerous": "tests/", "markupsafe": "tests/"}

PYTEST_TASKS = [
    "{story}; run the test suite and fix whatever fails.",
    "{story}. Can you run the tests and tell me what broke?",
    "{story} and now CI is red. Run the tests and figure out which ones fail and why.",
]
PYTEST_ASSISTANT = ["Let me run the tests.", "I'll run the test suite first.", ""]


def gen_pytest():
    work = SCRATCH / "w"
    for proj in sorted(PYTEST_BUGS):
        split = PYTEST_SPLIT[proj]
        v = venv(proj)
        root = unpack(proj, work)
        install_project(v, root)
        src_name = root.name
        for bi, (tag, rel, old, new, story) in enumerate(PYTEST_BUGS[proj]):
            f = root / rel
            orig = f.read_text()
            replace_once(f, old, new)
            try:
                for mode in PYTEST_MODES.get(proj, ("v", "q")):
                    clean_caches(root)
                    cmd = ["python", "-m", "pytest", f"-{mode}", PYTEST_TEST_DIR[proj]]
                    out, rc = run(cmd, root, env_for(v))
                    nf = count_failures(out)
                    log(f"{proj}/{tag} -{mode}: rc={rc} failed={nf}")
                    if len(out) > MAX_OUTPUT_CHARS:
                        log(f"!! SKIPPED {proj}/{tag} -{mode}: output too large ({len(out)} chars)")
                        continue
                    if not (rc == 1 and nf >= 1):
                        log(f"!! SKIPPED {proj}/{tag}: the injected bug made no test fail\n{out[-2000:]}")
                        break
                    k = (bi + (1 if mode == "q" else 0)) % len(PYTEST_TASKS)
                    add_case(
                        id=f"pytest-{mode}/{proj}-{tag}",
                        kind=f"pytest-{mode}",
                        split=split,
                        source=src_name,
                        task=PYTEST_TASKS[k].format(story=story),
                        assistant=PYTEST_ASSISTANT[k],
                        command=" ".join(cmd),
                        output=out,
                        gold=pytest_gold(out),
                    )
            finally:
                f.write_text(orig)
                clean_caches(root)


# --------------------------------------------------------------------------
# Kind: unittest
# --------------------------------------------------------------------------

UNITTEST_BUGS = {
    "more-itertools": [
        (
            "chunked-strict",
            "more_itertools/more.py",
            "                if len(chunk) != n:\n                    raise ValueError('iterable is not divisible by n.')",
            "                if len(chunk) > n:\n                    raise ValueError('iterable is not divisible by n.')",
            "I simplified the strict-mode check in more_itertools.chunked",
        ),
        (
            "tail",
            "more_itertools/recipes.py",
            "return islice(iterable, max(0, len(iterable) - n), None)",
            "return islice(iterable, max(0, len(iterable) - n - 1), None)",
            "I optimised the sized fast path of more_itertools.tail",
        ),
        (
            "padded",
            "more_itertools/more.py",
            "yield islice(iterable_with_repeat, n - 1)",
            "yield islice(iterable_with_repeat, n)",
            "I touched the next_multiple logic in more_itertools.padded",
        ),
    ],
    "simplejson": [
        (
            "item-sep",
            "simplejson/encoder.py",
            "    item_separator = ', '",
            "    item_separator = ','",
            "I changed the default item separator of simplejson's JSONEncoder",
        ),
        (
            "expecting-value",
            "simplejson/scanner.py",
            "raise JSONDecodeError('Expecting value', string, idx)",
            "raise JSONDecodeError('Expected a value', string, idx)",
            "I reworded simplejson's 'Expecting value' decode error",
        ),
    ],
}
UNITTEST_SPLIT = {"more-itertools": "dev", "simplejson": "held"}
UNITTEST_CMD = {
    "more-itertools": {"v": ["python", "-m", "unittest", "-v"], "q": ["python", "-m", "unittest"]},
    "simplejson": {
        "v": ["python", "-m", "unittest", "discover", "-v", "-s", "simplejson/tests", "-t", "."],
        "q": ["python", "-m", "unittest", "discover", "-s", "simplejson/tests", "-t", "."],
    },
}

RE_UT_HEAD = re.compile(r"^(FAIL|ERROR): \S+ \(.*\)$")
RE_UT_FINAL = re.compile(r"^FAILED \((failures|errors)=.*\)$")


def unittest_gold(out: str) -> list[str]:
    lines = out.split("\n")
    gold: list[str] = []
    i = 0
    while i < len(lines):
        if RE_UT_HEAD.match(lines[i]):
            head = lines[i]
            # block runs to the next ===== / ----- separator line after the traceback
            j = i + 1
            frames = []
            exc = None
            while j < len(lines) and not lines[j].startswith("=" * 20):
                l = lines[j]
                if RE_FRAME.match(l):
                    frames.append(l)
                elif frames and exc is None and l and not l[0].isspace() and not l.startswith("Traceback") and not l.startswith("-" * 20):
                    if l.strip() not in CHAIN_LINES:
                        exc = l
                if l.startswith("-" * 20) and j > i + 1:
                    break
                j += 1
            gold.append(head)
            if exc:
                gold.append(exc)
            if frames:
                gold.append(frames[-1])
            i = j
            continue
        i += 1
    final = [l for l in lines if RE_UT_FINAL.match(l)]
    assert final, "no FAILED (...) line"
    dedup: list[str] = []
    for g in gold:
        if g not in dedup:
            dedup.append(g)
    return dedup[: GOLD_CAP - 1] + [final[-1]]


def gen_unittest():
    work = SCRATCH / "w"
    for proj in sorted(UNITTEST_BUGS):
        v = venv(proj)
        root = unpack(proj, work)
        install_project(v, root)
        for bi, (tag, rel, old, new, story) in enumerate(UNITTEST_BUGS[proj]):
            f = root / rel
            orig = f.read_text()
            replace_once(f, old, new)
            try:
                for mode in ("v", "q"):
                    clean_caches(root)
                    cmd = UNITTEST_CMD[proj][mode]
                    out, rc = run(cmd, root, env_for(v))
                    log(f"unittest {proj}/{tag} -{mode}: rc={rc}")
                    if rc == 0 or not any(RE_UT_FINAL.match(l) for l in out.split("\n")):
                        log(f"!! SKIPPED {proj}/{tag}: no failure\n{out[-1500:]}")
                        break
                    k = (bi + (1 if mode == "q" else 0)) % len(PYTEST_TASKS)
                    add_case(
                        id=f"unittest/{proj}-{tag}-{mode}",
                        kind="unittest",
                        split=UNITTEST_SPLIT[proj],
                        source=root.name,
                        task=PYTEST_TASKS[k].format(story=story),
                        assistant=PYTEST_ASSISTANT[k],
                        command=" ".join(cmd),
                        output=out,
                        gold=unittest_gold(out),
                    )
            finally:
                f.write_text(orig)
                clean_caches(root)


# --------------------------------------------------------------------------
# Kind: traceback
# --------------------------------------------------------------------------

RE_FRAME = re.compile(r'^\s+File "[^"]+", line \d+, in \S.*$')
CHAIN_LINES = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)


def traceback_gold(out: str) -> list[str]:
    """Every exception line, every chaining line, the last frame of each traceback."""
    lines = out.split("\n")
    gold: list[str] = []
    i = 0
    n = 0
    while i < len(lines):
        l = lines[i]
        if l.strip() in CHAIN_LINES and l.strip() == l:
            gold.append(l)
        if l.lstrip() == "Traceback (most recent call last):":
            n += 1
            indent = len(l) - len(l.lstrip())
            last_frame = None
            j = i + 1
            while j < len(lines):
                m = lines[j]
                if RE_FRAME.match(m):
                    last_frame = m
                    j += 1
                    continue
                body = m[indent:] if m[:indent].strip() == "" else m
                if body and not body[0].isspace() and not body.startswith("Traceback"):
                    break
                j += 1
            if last_frame:
                gold.append(last_frame)
            if j < len(lines):
                gold.append(lines[j])
            i = j + 1
            continue
        i += 1
    assert n >= 1, "no traceback"
    out_gold: list[str] = []
    for g in gold:
        if g not in out_gold:
            out_gold.append(g)
    return out_gold[:GOLD_CAP]


# Drivers are code the agent runs (not output). Each: (id, source, split,
# command shown, files to write {name: text}, argv actually run, task, assistant)
TB_PORT_CLOSED = 9  # discard port on 127.0.0.1: nothing listens
TB_HTTP_PORT = 18765

TB_DRIVERS = [
    {
        "id": "requests-refused",
        "source": "requests-2.32.3",
        "split": "dev",
        "files": {},
        "argv": ["python", "-c", f"import requests; print(requests.get('http://127.0.0.1:{TB_PORT_CLOSED}/api/health', timeout=2).json())"],
        "task": "Check whether the local API server is up by hitting its health endpoint with requests.",
        "assistant": "I'll query the health endpoint.",
    },
    {
        "id": "requests-retry-logging",
        "source": "requests-2.32.3",
        "split": "dev",
        "files": {
            "sync_status.py": """import logging
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("sync")


def make_session():
    s = requests.Session()
    retry = Retry(total=4, backoff_factor=0, status_forcelist=[502, 503])
    s.mount("http://", HTTPAdapter(max_retries=retry))
    return s


def fetch_jobs(session, base):
    log.info("fetching job list from %s", base)
    r = session.get(base + "/v1/jobs", params={"state": "queued"}, timeout=3)
    r.raise_for_status()
    return r.json()


def main():
    log.info("sync starting, 3 sources configured")
    session = make_session()
    for base in ["http://127.0.0.1:%d" % %(port)d]:
        jobs = fetch_jobs(session, base)
        log.info("got %%d jobs", len(jobs))


if __name__ == "__main__":
    main()
""".replace("%(port)d", str(TB_PORT_CLOSED)).replace("%%d", "%d"),
        },
        "argv": ["python", "sync_status.py"],
        "task": "Run sync_status.py and tell me why the job sync fails.",
        "assistant": "Running the sync script.",
    },
    {
        "id": "requests-json-html",
        "source": "requests-2.32.3",
        "split": "dev",
        "serve": True,
        "files": {
            "www/index.html": "<!doctype html>\n<html><head><title>maintenance</title></head><body><p>Back soon.</p></body></html>\n",
            "fetch_config.py": f"""import requests


def load_remote_config(url):
    resp = requests.get(url, timeout=5)
    return resp.json()


def main():
    cfg = load_remote_config("http://127.0.0.1:{TB_HTTP_PORT}/")
    print(sorted(cfg))


main()
""",
        },
        "argv": ["python", "fetch_config.py"],
        "task": "fetch_config.py crashes on startup. Run it and find out what's going on.",
        "assistant": "",
    },
    {
        "id": "requests-invalid-url",
        "source": "requests-2.32.3",
        "split": "dev",
        "files": {},
        "argv": ["python", "-c", "import requests; requests.get('http://[::1:8080/status')"],
        "task": "Try fetching the status page of the IPv6 dev server with requests and tell me what happens.",
        "assistant": "",
    },
    {
        "id": "click-callback",
        "source": "click-8.2.1",
        "split": "dev",
        "files": {
            "deploy.py": """import json
import click


def load_targets(ctx, param, value):
    try:
        with open(value) as fh:
            return json.load(fh)
    except OSError as e:
        raise RuntimeError(f"cannot read targets file {value!r}") from e


@click.command()
@click.option("--targets", default="targets.json", callback=load_targets, help="JSON file of hosts")
@click.option("--dry-run", is_flag=True)
def deploy(targets, dry_run):
    for name in sorted(targets):
        click.echo(f"deploying {name}{' (dry run)' if dry_run else ''}")


if __name__ == "__main__":
    deploy()
""",
        },
        "argv": ["python", "deploy.py", "--dry-run"],
        "task": "Do a dry run of the deploy script to make sure it works.",
        "assistant": "I'll do a dry run.",
    },
    {
        "id": "cpython-process-pool",
        "source": "cpython-3.11",
        "split": "dev",
        "files": {
            "stats.py": """import statistics
from concurrent.futures import ProcessPoolExecutor


def summarize(batch):
    return statistics.mean(batch), statistics.stdev(batch)


def main():
    batches = [[1, 2, 3, 4], [10, 12, 11], [7], [5, 5, 6, 8]]
    with ProcessPoolExecutor(max_workers=2) as ex:
        for mean, sd in ex.map(summarize, batches):
            print(f"mean={mean:.2f} sd={sd:.2f}")


if __name__ == "__main__":
    main()
""",
        },
        "argv": ["python", "stats.py"],
        "task": "Run stats.py and fix it if it fails.",
        "assistant": "",
    },
    {
        "id": "cpython-json-config",
        "source": "cpython-3.11",
        "split": "dev",
        "files": {
            "settings.json": None,  # copied from a real file below
            "app.py": """import json
import sys


class ConfigError(Exception):
    pass


def read_config(path):
    with open(path) as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON") from e


def main(argv):
    cfg = read_config(argv[1] if len(argv) > 1 else "settings.json")
    print("loaded", len(cfg), "keys")


if __name__ == "__main__":
    main(sys.argv)
""",
        },
        "argv": ["python", "app.py", "settings.json"],
        "task": "app.py won't start with our settings file. Run it and tell me what's wrong.",
        "assistant": "Let me run it.",
    },
    {
        "id": "jinja2-undefined",
        "source": "jinja2-3.1.6",
        "split": "held",
        "files": {
            "templates/base.html": "<html>\n<head><title>{% block title %}{% endblock %}</title></head>\n<body>\n{% block body %}{% endblock %}\n</body>\n</html>\n",
            "templates/report.html": "{% extends 'base.html' %}\n{% block title %}Report for {{ user.name }}{% endblock %}\n{% block body %}\n<ul>\n{% for row in rows %}\n  <li>{{ row.label }}: {{ row.total | round(2) }} ({{ row.owner.email }})</li>\n{% endfor %}\n</ul>\n{% endblock %}\n",
            "render_report.py": """from jinja2 import Environment, FileSystemLoader, StrictUndefined

env = Environment(loader=FileSystemLoader("templates"), undefined=StrictUndefined)


def render(rows):
    tmpl = env.get_template("report.html")
    return tmpl.render(user={"name": "ana"}, rows=rows)


rows = [
    {"label": "north", "total": 12.345, "owner": {"email": "n@example.org"}},
    {"label": "south", "total": 3.5, "owner": {"name": "sam"}},
]
print(render(rows))
""",
        },
        "argv": ["python", "render_report.py"],
        "task": "The report rendering script crashes. Run render_report.py and find the cause.",
        "assistant": "",
    },
    {
        "id": "jinja2-syntax",
        "source": "jinja2-3.1.6",
        "split": "held",
        "files": {
            "templates/mail.txt": "Hello {{ name }},\n\n{% if items %}\nYou have {{ items|length }} new items:\n{% for it in items %}\n - {{ it.title }}\n{% endfor %}\n{% else %}\nNothing new.\n{% endfi %}\n",
            "send_digest.py": """import logging
from jinja2 import Environment, FileSystemLoader

logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
log = logging.getLogger("digest")
env = Environment(loader=FileSystemLoader("templates"))

for user in ["ana", "bo", "cy"]:
    log.info("building digest for %s", user)
log.info("loading template mail.txt")
body = env.get_template("mail.txt").render(name="ana", items=[{"title": "x"}])
print(body)
""",
        },
        "argv": ["python", "send_digest.py"],
        "task": "Run send_digest.py; it should print the digest mail.",
        "assistant": "",
    },
    {
        "id": "flask-view-error",
        "source": "flask-3.1.3",
        "split": "held",
        "files": {
            "smoke.py": """from flask import Flask, jsonify

app = Flask("orders")
ORDERS = {1: {"id": 1, "items": [{"sku": "A1", "qty": 2}]}}


def order_total(order):
    return sum(item["qty"] * item["price"] for item in order["items"])


@app.get("/orders/<int:oid>")
def get_order(oid):
    order = ORDERS[oid]
    return jsonify(id=oid, total=order_total(order))


client = app.test_client()
for oid in (1,):
    resp = client.get(f"/orders/{oid}")
    print(oid, resp.status_code, resp.get_data(as_text=True)[:80])
""",
        },
        "argv": ["python", "smoke.py"],
        "task": "Run the smoke test for the orders endpoint and tell me why it returns 500.",
        "assistant": "Running the smoke test.",
    },
    {
        "id": "yaml-scanner",
        "source": "pyyaml-6.0.2",
        "split": "held",
        "files": {
            "check_workflow.py": None,  # written below: loads a real non-YAML file as YAML
        },
        "argv": ["python", "check_workflow.py"],
        "task": "Run check_workflow.py to validate the config.",
        "assistant": "",
    },
]


def gen_traceback():
    v = venv("tools")
    base = SCRATCH / "tb"
    if base.exists():
        shutil.rmtree(base)
    flask_root = unpack("flask", SCRATCH / "tbsrc", fresh=False)
    jinja_root = unpack("jinja2", SCRATCH / "tbsrc", fresh=False)
    for d in TB_DRIVERS:
        wd = base / d["id"]
        wd.mkdir(parents=True)
        for name, text in sorted(d["files"].items()):
            p = wd / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if text is None and name == "settings.json":
                # a real, non-JSON file: flask's pyproject.toml
                shutil.copy(flask_root / "pyproject.toml", p)
            elif text is None and name == "check_workflow.py":
                shutil.copy(jinja_root / "tox.ini", wd / "tox.ini")
                p.write_text(
                    "import yaml\n\n\ndef load(path):\n    with open(path) as fh:\n        return yaml.safe_load(fh)\n\n\n"
                    "cfg = load('tox.ini')\nprint(sorted(cfg))\n"
                )
            else:
                p.write_text(text)
        server = None
        if d.get("serve"):
            server = subprocess.Popen(
                ["python", "-m", "http.server", str(TB_HTTP_PORT), "--bind", "127.0.0.1", "--directory", "www"],
                cwd=wd, env=env_for(v), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            import time
            for _ in range(50):
                try:
                    import socket
                    socket.create_connection(("127.0.0.1", TB_HTTP_PORT), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
        try:
            out, rc = run(d["argv"], wd, env_for(v))
        finally:
            if server:
                server.terminate()
                server.wait()
        log(f"traceback/{d['id']}: rc={rc}")
        assert rc != 0 or "Traceback (most recent call last):" in out, out
        cmd = " ".join(a if re.match(r"^[\w./=-]+$", a) else '"' + a.replace('"', '\\"') + '"' for a in d["argv"])
        add_case(
            id=f"traceback/{d['id']}",
            kind="traceback",
            split=d["split"],
            source=d["source"],
            task=d["task"],
            assistant=d["assistant"],
            command=cmd,
            output=out,
            gold=traceback_gold(out),
        )


# --------------------------------------------------------------------------
# Kind: grep
# --------------------------------------------------------------------------

GREP_SOURCES = [
    # (sdist name or crate dir, split, how many names)
    ("click", "dev", 3),
    ("requests", "dev", 3),
    ("rich", "dev", 3),
    ("jinja2", "dev", 2),
    ("crate:serde_json-1.0.154", "dev", 2),
    ("flask", "held", 3),
    ("packaging", "held", 2),
    ("crate:regex-automata-0.4.19", "held", 2),
    ("crate:hyper-1.12.0", "held", 2),
]

GREP_TASKS = [
    "Where is {what} defined?",
    "Find the definition of {what} in this codebase.",
    "I need to change {what}. Where does it live?",
]


def cargo_src() -> Path:
    reg = Path(BASE_ENV["HOME"]) / ".cargo" / "registry" / "src"
    dirs = sorted(p for p in reg.iterdir() if p.is_dir())
    assert dirs, "no cargo registry sources"
    return dirs[0]


def source_root(spec: str, parent: Path) -> tuple[Path, str]:
    if spec.startswith("crate:"):
        name = spec[len("crate:"):]
        dst = parent / name
        if not dst.exists():
            shutil.copytree(cargo_src() / name, dst)
        return dst, name
    root = unpack(spec, parent, fresh=False)
    return root, root.name


def grep_candidates(root: Path, rust: bool):
    """Names defined exactly once (class/def or struct/enum/trait/fn), sorted by hit count."""
    pat = (
        re.compile(r"^\s*pub(?:\([^)]*\))? (struct|enum|trait|fn) ([A-Za-z_]\w{3,})\b")
        if rust
        else re.compile(r"^\s*(class|def) ([A-Za-z_]\w{3,})\b")
    )
    ext = ".rs" if rust else ".py"
    defs: dict[str, list[str]] = {}
    texts = []
    for f in sorted(root.rglob(f"*{ext}")):
        try:
            t = f.read_text()
        except UnicodeDecodeError:
            continue
        texts.append(t)
        if {"tests", "test", "testing", "benches", "examples"} & set(f.relative_to(root).parts):
            continue
        for line in t.split("\n"):
            m = pat.match(line)
            if m:
                defs.setdefault(m.group(2), []).append(m.group(1))
    allt = "\n".join(texts)
    cands = []
    for name, kinds in sorted(defs.items()):
        if len(kinds) != 1 or name.startswith("_") or name.lower().startswith("test"):
            continue
        # distinctive names only: CamelCase or snake_case with an underscore
        if not (name[0].isupper() and any(c.islower() for c in name)) and "_" not in name:
            continue
        hits = len(re.findall(r"\b%s\b" % re.escape(name), allt))
        if 60 <= hits <= 600:
            cands.append((hits, name, kinds[0]))
    cands.sort(key=lambda c: (-c[0], c[1]))
    return cands


def gen_grep():
    parent = SCRATCH / "grepsrc"
    k = 0
    for spec, split, count in GREP_SOURCES:
        rust = spec.startswith("crate:")
        root, src_name = source_root(spec, parent)
        cands = grep_candidates(root, rust)
        # spread over the candidate list: largest, then every step-th
        step = max(1, len(cands) // (count + 1))
        picked = [cands[i * step] for i in range(count) if i * step < len(cands)]
        for hits, name, what in picked:
            k += 1
            if k % 2 == 0:
                cmd = ["rg", "-n", "--sort", "path", name]
            else:
                cmd = ["grep", "-rn", name, "."]
            out, rc = run(cmd, root, env_for())
            assert rc == 0, out
            if rust:
                dre = re.compile(r"^[^:]+:\d+:\s*pub(?:\([^)]*\))? %s %s\b" % (what, re.escape(name)))
            else:
                dre = re.compile(r"^[^:]+:\d+:\s*%s %s\b" % (what, re.escape(name)))
            gold = [l for l in out.split("\n") if dre.match(l)]
            if len(gold) != 1 or len(out.split("\n")) < 50:
                log(f"grep/{name}: skipped ({len(gold)} definitions, {len(out.splitlines())} lines)")
                continue
            word = {"class": "class", "def": "function", "fn": "function", "struct": "struct", "enum": "enum", "trait": "trait"}[what]
            add_case(
                id=f"grep/{src_name}-{name}",
                kind="grep",
                split=split,
                source=src_name,
                task=GREP_TASKS[k % len(GREP_TASKS)].format(what=f"the {word} `{name}`"),
                assistant=f"I'll search for {name}.",
                command=" ".join(cmd),
                output=out,
                gold=gold,
            )


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

KINDS = {
    "pytest": gen_pytest,
    "unittest": gen_unittest,
    "traceback": gen_traceback,
    "grep": gen_grep,
}


def write_outputs():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for split in ("dev", "held"):
        rows = sorted((c for c in CASES if c["split"] == split), key=lambda c: c["id"])
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
            for c in rows:
                gz.write((json.dumps(c, ensure_ascii=False) + "\n").encode("utf-8"))
        (OUT_DIR / f"{split}.jsonl.gz").write_bytes(buf.getvalue())
        log(f"wrote {split}: {len(rows)} cases, {len(buf.getvalue())} bytes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated kinds to generate (no files written)")
    ap.add_argument("--out", default="", help="write cases to this jsonl instead (debugging)")
    a = ap.parse_args()
    only = [k for k in a.only.split(",") if k]
    for name, fn in KINDS.items():
        if only and name not in only:
            continue
        log(f"== {name}")
        fn()
    if a.out:
        with open(a.out, "w") as fh:
            for c in CASES:
                fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    if not only:
        write_outputs()


if __name__ == "__main__":
    main()
