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
    "pygithub": "2.6.1",
    "attrs": "25.3.0",
    "cachetools": "5.5.2",
    "idna": "3.10",
    "markdown": "3.8",
    "pyflakes": "3.2.0",  # added in the seventh round (unittest)
    "tabulate": "0.9.0",  # added in the seventh round (pytest)
    "sqlparse": "0.5.3",  # added in the seventh round (pytest)
    "json5": "0.12.0",  # added in the seventh round (unittest)
    "pynetbox": "7.8.0",  # added in the eighth round (json)
    "inflection": "0.5.1",  # added in the eighth round (pytest)
    "brotli": "1.1.0",  # added in the twelfth round (gcc)
    "lz4": "4.3.3",  # added in the twelfth round (gcc)
    "ujson": "5.10.0",  # added in the twelfth round (gcc)
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
        "asgiref==3.8.1",
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
    "markdown": ["PyYAML==6.0.2"],
    # the type checker of the mypy kind, and what it needs
    "ruff": ["ruff==0.17.5"],
    "mypy": [
        "mypy==2.4.1",
        "mypy_extensions==1.2.0",
        "typing_extensions==4.16.0",
        "pathspec==1.1.1",
        "librt==0.17.0",
        "ast_serialize==0.13.1",
    ],
    "itsdangerous": PYTEST
    + ["packaging==25.0", "freezegun==1.5.1", "python-dateutil==2.9.0.post0", "six==1.17.0"],
    "packaging": PYTEST + ["packaging==25.0", "pretend==1.0.9"],
    "more-itertools": [],
    "simplejson": [],
    "pyflakes": [],
    "json5": [],
    "tabulate": PYTEST,
    "inflection": PYTEST,
    "sqlparse": PYTEST,
    "cachetools": PYTEST,
    "idna": PYTEST,
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


def run(cmd, cwd, env, timeout=1800, shell=False, pidns=False) -> tuple[str, int]:
    """Run a command; return (stdout+stderr interleaved, exit code).

    pidns: run in a new PID namespace, so the thread ids Rust prints in
    panic messages ("thread 'x' (12) panicked") are the same every run.
    """
    if pidns:
        cmd = ["unshare", "--pid", "--fork", *cmd]
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


def before_and_after(cmd, root: Path, env: dict, bug) -> tuple[str, str, int]:
    """Run `cmd` on the sources as they are, then with `bug` (file, old, new) put in, if
    any: (the first run's output, the second's, its exit code). A checker's new
    diagnostics are what the second prints and the first did not."""
    base, _ = run(cmd, root, env)
    if bug:
        replace_once(root / bug[0], bug[1], bug[2])
    out, rc = run(cmd, root, env)
    return base, out, rc


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
    if RE_REGISTRY_HOST.search(output):
        # third-party text (a README, an issue body) naming a package
        # registry's host: such cases are left out of the data files
        log(f"!! SKIPPED {id}: output names a package registry host")
        return
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

# --projects: the pytest/unittest projects to run (empty: all)
PROJECTS: set[str] = set()
RE_REGISTRY_HOST = re.compile(r"\b(?:pypi|crates|npmjs|debian)\.(?:org|io|com)\b", re.I)

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
    "cachetools": [
        (
            "lru-evict",
            "src/cachetools/__init__.py",
            '''        """Remove and return the `(key, value)` pair least recently used."""
        try:
            key = next(iter(self.__order))''',
            '''        """Remove and return the `(key, value)` pair least recently used."""
        try:
            key = next(reversed(self.__order))''',
            "I changed which entry cachetools' LRUCache evicts first",
        ),
    ],
    "idna": [
        (
            "label-length",
            "idna/core.py",
            "if len(label) > 63:",
            "if len(label) > 20:",
            "I tightened the label length check in idna",
        ),
    ],
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

# Added in the seventh round: two more projects of pytest's own style (plain asserts on
# rendered text).
PYTEST_BUGS["tabulate"] = [
    ("padding", "tabulate/__init__.py", "MIN_PADDING = 2", "MIN_PADDING = 1",
     "I reduced the minimum padding of tabulate's columns"),
    ("floatfmt", "tabulate/__init__.py", '_DEFAULT_FLOATFMT = "g"', '_DEFAULT_FLOATFMT = "f"',
     "I changed tabulate's default float format"),
]
PYTEST_BUGS["sqlparse"] = [
    ("leading-ws", "sqlparse/filters/reindent.py",
     "        return self.offset + self.indent * self.width\n",
     "        return self.offset + self.indent * self.width + 1\n",
     "I touched the indentation arithmetic of sqlparse's reindent filter"),
]
# Added in the eighth round: a suite of parametrized cases (hundreds of test ids).
PYTEST_BUGS["inflection"] = [
    ("camel-split", "inflection/__init__.py",
     """    word = re.sub(r"([a-z\\d])([A-Z])", r'\\1_\\2', word)""",
     """    word = re.sub(r"([a-z\\d])([A-Z])", r'\\1\\2', word)""",
     "I reworked how inflection's underscore() splits camelCase words"),
    ("plural-default", "inflection/__init__.py", """    (r"$", 's'),\n]""", """    (r"$", 'es'),\n]""",
     "I changed inflection's fallback plural rule"),
]
PYTEST_SPLIT = {
    "inflection": "dev",
    "tabulate": "dev",
    "sqlparse": "dev",
    "cachetools": "dev",
    "idna": "dev",
    "click": "dev",
    "jinja2": "dev",
    "packaging": "dev",
    "itsdangerous": "dev",
    "flask": "held",
    "markupsafe": "held",
}

# packaging has ~27,000 tests: its -v log would be far past the size range.
PYTEST_MODES = {"packaging": ("q",), "tabulate": ("v", "q", "short"), "sqlparse": ("v", "q", "short"),
                "inflection": ("v", "q", "short")}
# Added later: `-q --tb=short`, as coding agents often run it (kind pytest-q), on some dev
# projects.
PYTEST_MODES.update({p: ("v", "q", "short") for p in ("cachetools", "idna", "itsdangerous", "jinja2")})
PYTEST_ARGS = {"v": ["-v"], "q": ["-q"], "short": ["-q", "--tb=short"]}
MAX_OUTPUT_CHARS = 450_000  # ~110k o200k tokens

PYTEST_TEST_DIR = {"inflection": "test_inflection.py", "tabulate": "test/", "sqlparse": "tests/", "cachetools": "tests/", "idna": "tests/", "click": "tests/", "flask": "tests/", "jinja2": "tests/", "packaging": "tests/", "itsdangerous": "tests/", "markupsafe": "tests/"}

PYTEST_TASKS = [
    "{story}; run the test suite and fix whatever fails.",
    "{story}. Can you run the tests and tell me what broke?",
    "{story} and now CI is red. Run the tests and figure out which ones fail and why.",
]
PYTEST_ASSISTANT = ["Let me run the tests.", "I'll run the test suite first.", ""]


def gen_pytest():
    work = SCRATCH / "w"
    for proj in sorted(PYTEST_BUGS):
        if PROJECTS and proj not in PROJECTS:
            continue
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
                    cmd = ["python", "-m", "pytest", *PYTEST_ARGS[mode], PYTEST_TEST_DIR[proj]]
                    out, rc = run(cmd, root, env_for(v))
                    nf = count_failures(out)
                    log(f"{proj}/{tag} -{mode}: rc={rc} failed={nf}")
                    if len(out) > MAX_OUTPUT_CHARS:
                        log(f"!! SKIPPED {proj}/{tag} -{mode}: output too large ({len(out)} chars)")
                        continue
                    if not (rc == 1 and nf >= 1):
                        log(f"!! SKIPPED {proj}/{tag}: the injected bug made no test fail\n{out[-2000:]}")
                        break
                    k = (bi + {"v": 0, "q": 1, "short": 2}[mode]) % len(PYTEST_TASKS)
                    kind = "pytest-v" if mode == "v" else "pytest-q"
                    add_case(
                        id=f"{kind}/{proj}-{tag}" + ("-tb-short" if mode == "short" else ""),
                        kind=kind,
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
            "key-sep",
            "simplejson/encoder.py",
            "    key_separator = ': '",
            "    key_separator = ' : '",
            "I changed the default key separator of simplejson's JSONEncoder",
        ),
    ],
}
# Added in the sixth round: Python-Markdown's suite is unittest's own.
UNITTEST_BUGS["markdown"] = [
    (
        "smarty-ldquo",
        "markdown/extensions/smarty.py",
        "    'left-double-quote': '&ldquo;',",
        "    'left-double-quote': '&rdquo;',",
        "I cleaned up the quote substitutions of Markdown's smarty extension",
    ),
    (
        "toc-unique",
        "markdown/extensions/toc.py",
        "            id = '%s_%d' % (id, 1)",
        "            id = '%s_%d' % (id, 0)",
        "I changed how Markdown's toc extension numbers duplicate header ids",
    ),
    (
        "toc-case",
        "markdown/extensions/toc.py",
        "    value = re.sub(r'[^\\w\\s-]', '', value).strip().lower()",
        "    value = re.sub(r'[^\\w\\s-]', '', value).strip()",
        "I made Markdown's toc extension keep the case of header ids",
    ),
]
# Added in the seventh round: pyflakes' suite is unittest's own too, and its failures
# print an assertion's list diff and the checked source.
UNITTEST_BUGS["pyflakes"] = [
    (
        "all-scope",
        "pyflakes/checker.py",
        "                isinstance(self.scope, ModuleScope) and\n                isinstance(\n",
        "                isinstance(self.scope, FunctionScope) and\n                isinstance(\n",
        "I narrowed where pyflakes treats an __all__ assignment as the module's exports",
    ),
    (
        "uses-locals",
        "pyflakes/checker.py",
        "                    not self.usesLocals and\n",
        "                    self.usesLocals and\n",
        "I reworked the locals() check in pyflakes' unused-variable report",
    ),
    (
        "underscore",
        "pyflakes/checker.py",
        "                    name != '_' and  # see issue #202\n",
        "                    name != '__' and  # see issue #202\n",
        "I touched the special case for throwaway names in pyflakes' unused assignments",
    ),
]
# ... and json5's, whose failures compare the JSON text its encoder writes.
UNITTEST_BUGS["json5"] = [
    (
        "item-sep",
        "json5/lib.py",
        "            separators = (', ', ': ') if indent is None else (',', ': ')",
        "            separators = (',', ': ')",
        "I simplified the default separators of json5's encoder",
    ),
    (
        "swap-sep",
        "json5/lib.py",
        "        self.item_separator, self.kv_separator = separators",
        "        self.kv_separator, self.item_separator = separators",
        "I reordered how json5's encoder unpacks its separators",
    ),
]
# Projects added later run their pytest bugs under unittest too (their suites are
# unittest.TestCase classes).
UNITTEST_BUGS.update({p: PYTEST_BUGS[p] for p in ("cachetools", "idna")})
UNITTEST_SPLIT = {
    "more-itertools": "dev",
    "simplejson": "held",
    "cachetools": "dev",
    "idna": "dev",
    "markdown": "dev",
    "pyflakes": "dev",
    "json5": "dev",
}
UNITTEST_CMD = {
    **{
        p: {
            "v": ["python", "-m", "unittest", "discover", "-v", "-s", "tests", "-t", "."],
            "q": ["python", "-m", "unittest", "discover", "-s", "tests", "-t", "."],
        }
        for p in ("cachetools", "idna", "markdown")
    },
    "more-itertools": {"v": ["python", "-m", "unittest", "-v"], "q": ["python", "-m", "unittest"]},
    # its tool tests run the installed `json5` command: the library's tests only
    "json5": {"v": ["python", "-m", "unittest", "-v", "tests.lib_test"],
              "q": ["python", "-m", "unittest", "tests.lib_test"]},
    "pyflakes": {
        "v": ["python", "-m", "unittest", "discover", "-v", "-s", "pyflakes/test", "-t", "."],
        "q": ["python", "-m", "unittest", "discover", "-s", "pyflakes/test", "-t", "."],
    },
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
    heads = [i for i, l in enumerate(lines) if RE_UT_HEAD.match(l)]
    for n, i in enumerate(heads):
        # the block runs to the next ==== line (next failure) or to the "Ran N tests" rule
        end = i + 1
        while end < len(lines) and not lines[end].startswith("=" * 20) and not (
            lines[end].startswith("-" * 20) and end + 1 < len(lines) and lines[end + 1].startswith("Ran ")
        ):
            end += 1
        block = lines[i + 1 : end]
        gold.append(lines[i])
        tbs = [k for k, l in enumerate(block) if l == "Traceback (most recent call last):"]
        if tbs:
            frames, exc = [], None
            for l in block[tbs[-1] + 1 :]:
                if RE_FRAME.match(l):
                    frames.append(l)
                elif l and not l[0].isspace():
                    exc = l
                    break
            if exc:
                gold.append(exc)
            if frames:
                gold.append(frames[-1])
        # a failing doctest example: its location line
        loc = next((l for l in block if re.match(r'^File "[^"]+", line \d+, in \S', l)), None)
        if loc:
            gold.append(loc)
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
        if PROJECTS and proj not in PROJECTS:
            continue
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
                    if len(out) > MAX_OUTPUT_CHARS:
                        log(f"!! SKIPPED {proj}/{tag} -{mode}: output too large ({len(out)} chars)")
                        continue
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
# Kinds: cargo-test and rustc (crates from the local cargo registry sources)
# --------------------------------------------------------------------------

CARGO_TEST_BUGS = [
    # (crate dir, split, tag, file, old, new, story)
    ("strsim-0.11.1", "dev", "jaro-winkler", "src/lib.rs",
     "sim + 0.1 * prefix_length as f64 * (1.0 - sim)",
     "sim + 0.2 * prefix_length as f64 * (1.0 - sim)",
     "I tuned the prefix weight in strsim's Jaro-Winkler"),
    ("strsim-0.11.1", "dev", "osa", "src/lib.rs",
     "prev_two_distances[j - 1] + 1);",
     "prev_two_distances[j - 1] + 2);",
     "I changed the transposition cost in strsim's optimal string alignment distance"),
    ("heck-0.5.0", "dev", "snake-sep", "src/snake.rs",
     'transform(self.0.as_ref(), lowercase, |f| write!(f, "_"), f)',
     'transform(self.0.as_ref(), lowercase, |f| write!(f, "-"), f)',
     "I refactored heck's snake case writer"),
    ("percent-encoding-2.3.2", "dev", "hex-digit", "src/lib.rs",
     "Some(h as u8 * 0x10 + l as u8)",
     "Some(h as u8 * 0x0f + l as u8)",
     "I rewrote the hex decoding in percent-encoding"),
    ("mime-0.3.18", "held", "params", "src/parse.rs",
     "            Some((i, b';')) if i > start => {\n                start = i;\n                break;",
     "            Some((i, b';')) if i > start + 100 => {\n                start = i;\n                break;",
     "I changed how mime's parser detects the start of parameters"),
    ("shlex-2.0.1", "held", "lineno", "src/bytes.rs",
     "if res == Some(b'\\n') { self.line_no += 1; }",
     "if res == Some(b'\\n') { self.line_no += 2; }",
     "I touched the line counting in shlex"),
    # Added in the sixth round (after the others, so their tasks stay as they were).
    ("num-integer-0.1.47", "dev", "div-floor", "src/lib.rs",
     "if (r > 0 && *other < 0) || (r < 0 && *other > 0) {\n                    d - 1",
     "if (r > 0 && *other < 0) || (r < 0 && *other > 0) {\n                    d + 1",
     "I simplified the floored division in num-integer"),
    ("litrs-1.0.0", "dev", "escape-r", "src/escape.rs",
     "b'r' => (Unescape::Byte(b'\\r'), 2),",
     "b'r' => (Unescape::Byte(b'\\n'), 2),",
     "I reordered the escape table in litrs"),
    # Added in the seventh round: small crates, whose runs are a few hundred tokens, and
    # a failing doctest.
    ("fnv-1.0.7", "dev", "prime", "lib.rs",
     "hash = hash.wrapping_mul(0x100000001b3);",
     "hash = hash.wrapping_mul(0x100000001b5);",
     "I changed the multiply step of fnv's hasher"),
    ("either-1.15.0", "dev", "left-or", "src/lib.rs",
     "        match self {\n            Either::Left(l) => l,\n            Either::Right(_) => other,",
     "        match self {\n            Either::Left(_) => other,\n            Either::Right(_) => other,",
     "I cleaned up Either::left_or in either"),
]

RUSTC_BUGS = [
    # (crate dir, split, tag, file, old, new, rustflags, story)
    ("strsim-0.11.1", "dev", "float-mul", "src/lib.rs",
     "sim + 0.1 * prefix_length as f64 * (1.0 - sim)",
     "sim + 0.1 * prefix_length * (1.0 - sim)",
     "-W rust-2018-idioms -W unused -W unreachable-pub -W missing-debug-implementations",
     "I simplified an expression in strsim's jaro_winkler"),
    ("ident_case-1.0.1", "dev", "vec-string", "src/lib.rs",
     "                let mut snake = String::new();",
     "                let mut snake = Vec::new();",
     "-W rust-2018-idioms -W unused -W unreachable-pub -W missing-debug-implementations",
     "I changed the buffer type in ident_case's snake_case conversion"),
    ("percent-encoding-2.3.2", "dev", "u32-digit", "src/lib.rs",
     "Some(h as u8 * 0x10 + l as u8)",
     "Some(h * 0x10 + l)",
     "-W unused -W rust-2018-idioms", "I removed some casts from percent-encoding's hex decoding"),
    ("heck-0.5.0", "dev", "char-literal", "src/snake.rs",
     'transform(self.0.as_ref(), lowercase, |f| write!(f, "_"), f)',
     "transform(self.0.as_ref(), lowercase, |f| write!(f, '_'), f)",
     "", "I changed the separator in heck's snake case writer to a char"),
    ("mime-0.3.18", "held", "param-type", "src/parse.rs",
     "            Some((i, b';')) if i > start => {\n                start = i;\n                break;",
     "            Some((i, b';')) if i > start as u8 => {\n                start = i;\n                break;",
     "-W unused -W rust-2018-idioms", "I tweaked the parameter detection in mime's parser"),
    ("httparse-1.10.1", "held", "status-code", "src/lib.rs",
     None, None,
     "-W unused -W rust-2018-idioms", "I changed how httparse stores the response status code"),
    ("shlex-2.0.1", "held", "line-no", "src/bytes.rs",
     "if res == Some(b'\\n') { self.line_no += 1; }",
     "if res == Some(b'\\n') { self.line_no += 1u8; }",
     "", "I made shlex's line counter smaller"),
    # Added in the seventh round: an error inside a macro that six integer types expand
    # (six errors), and one among a crate's lint warnings.
    ("num-integer-0.1.47", "dev", "gcd-ref", "src/lib.rs",
     "                let gcd = self.gcd(other);\n                // should not have to recalculate abs",
     "                let gcd = self.gcd(*other);\n                // should not have to recalculate abs",
     "-W unused -W rust-2018-idioms -W unreachable-pub", "I tidied the gcd_lcm of num-integer's signed integers"),
    ("either-1.15.0", "dev", "left-or-some", "src/lib.rs",
     "        match self {\n            Either::Left(l) => l,\n            Either::Right(_) => other,",
     "        match self {\n            Either::Left(l) => Some(l),\n            Either::Right(_) => other,",
     "-W unused -W rust-2018-idioms -W missing-debug-implementations -W unreachable-pub",
     "I rewrote Either::left_or in either"),
]

CARGO_TASKS = [
    "{story}. Run cargo test and fix what broke.",
    "{story}; can you run the tests and tell me which ones fail?",
    "{story}. The tests are red now, please investigate.",
]
RUSTC_TASKS = [
    "{story}. Build it and fix the compile errors.",
    "{story}; does it still compile? Fix whatever doesn't.",
    "{story}. cargo build fails now, can you take a look?",
]


def crate_copy(name: str) -> Path:
    dst = SCRATCH / "crates" / name
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(cargo_src() / name, dst)
    return dst


def cargo_env(crate: str, rustflags: str = "") -> dict:
    e = env_for(extra={
        "CARGO_TERM_COLOR": "never",
        "CARGO_NET_OFFLINE": "true",
        "CARGO_TARGET_DIR": str(SCRATCH / "target" / crate),
        "CARGO_INCREMENTAL": "0",
        # one test thread: the order of test lines is then fixed
        "RUST_TEST_THREADS": "1",
    })
    e["CARGO_HOME"] = str(Path(BASE_ENV["HOME"]) / ".cargo")
    if rustflags:
        e["RUSTFLAGS"] = rustflags
    return e


def cargo_run(cmd: list[str], root: Path, target: str, rustflags: str = "") -> tuple[str, int]:
    """Run cargo offline. When a dependency is not in the local registry, fetch it once
    through cargo (not recorded); the recorded run is offline again."""
    out, rc = run(cmd, root, cargo_env(target, rustflags), timeout=1800, pidns=True)
    if "no matching package named" in out or "failed to download" in out:
        e = cargo_env(target)
        e.pop("CARGO_NET_OFFLINE")
        for fetch in (["cargo", "generate-lockfile"], ["cargo", "fetch"]):
            lo, lrc = run(fetch, root, e, timeout=1800)
            assert lrc == 0, lo
        out, rc = run(cmd, root, cargo_env(target, rustflags), timeout=1800, pidns=True)
    return out, rc


def cargo_test_gold(out: str) -> list[str]:
    """Per failing test: its `test x ... FAILED` line, its panic line and the
    message line after it; then the FAILED result line and cargo's error line."""
    lines = out.split("\n")
    panics: dict[str, list[str]] = {}
    block = None  # the `---- name stdout ----` block a doctest's panic (thread 'main') is in
    for i, l in enumerate(lines):
        b = re.match(r"^---- (.*) stdout ----$", l)
        if b:
            block = b.group(1)
        m = re.match(r"^thread '(.*)'( \(\d+\))? panicked at \S+:\d+:\d+:$", l)
        if m:
            g = [l]
            if i + 1 < len(lines) and lines[i + 1].strip():
                g.append(lines[i + 1])
                # assert_eq!: the two values
                g.extend(l2 for l2 in lines[i + 2 : i + 4] if re.match(r"^\s*(left|right): ", l2))
            name = block if m.group(1) == "main" and block else m.group(1)
            panics.setdefault(name, []).extend(g)
    gold: list[str] = []
    for l in lines:
        m = re.match(r"^test (\S.*) \.\.\. FAILED$", l)
        if m:
            gold.append(l)
            gold.extend(panics.get(m.group(1), []))
    final = [l for l in lines if l.startswith("test result: FAILED.")]
    assert final, "no failing test result line"
    err = [l for l in lines if l.startswith(("error: test failed", "error: doctest failed"))]
    dedup: list[str] = []
    for g in gold:
        if g not in dedup:
            dedup.append(g)
    return dedup[: GOLD_CAP - 2] + final[:1] + err[:1]


def rustc_gold(out: str) -> list[str]:
    lines = out.split("\n")
    gold: list[str] = []
    for i, l in enumerate(lines):
        if re.match(r"^error(\[E\d+\])?: ", l) and not l.startswith("error: could not compile"):
            gold.append(l)
            if i + 1 < len(lines) and re.match(r"^\s*--> \S+:\d+:\d+$", lines[i + 1]):
                gold.append(lines[i + 1])
    final = [l for l in lines if l.startswith("error: could not compile")]
    assert final, "no could-not-compile line"
    dedup: list[str] = []
    for g in gold:
        if g not in dedup:
            dedup.append(g)
    return dedup[: GOLD_CAP - 1] + [final[-1]]


def httparse_bug(root: Path):
    """Store the parsed status code as a string in httparse (a type error)."""
    f = root / "src" / "lib.rs"
    t = f.read_text()
    m = re.search(r"\n(\s*)self\.code = Some\(([^;]*)\);", t)
    assert m, "httparse: no self.code = Some(..)"
    f.write_text(t[: m.start()] + f"\n{m.group(1)}self.code = Some({m.group(2)}.to_string());" + t[m.end():])


def gen_cargo_test():
    for k, (crate, split, tag, rel, old, new, story) in enumerate(CARGO_TEST_BUGS):
        root = crate_copy(crate)
        replace_once(root / rel, old, new)
        cmd = ["cargo", "test"]
        out, rc = cargo_run(cmd, root, crate)
        log(f"cargo-test {crate}/{tag}: rc={rc}")
        if rc == 0 or "test result: FAILED." not in out:
            log(f"!! SKIPPED cargo-test {crate}/{tag}\n{out[-2000:]}")
            continue
        add_case(
            id=f"cargo-test/{crate}-{tag}",
            kind="cargo-test",
            split=split,
            source=crate,
            task=CARGO_TASKS[k % len(CARGO_TASKS)].format(story=story),
            assistant=["Running the tests.", "", "Let me run cargo test."][k % 3],
            command=" ".join(cmd),
            output=out,
            gold=cargo_test_gold(out),
        )


def gen_rustc():
    for k, (crate, split, tag, rel, old, new, rustflags, story) in enumerate(RUSTC_BUGS):
        root = crate_copy(crate)
        if old is None:
            httparse_bug(root)
        else:
            replace_once(root / rel, old, new)
        cmd = ["cargo", "build"]
        out, rc = cargo_run(cmd, root, crate + "-build", rustflags)
        log(f"rustc {crate}/{tag}: rc={rc}")
        if rc == 0 or "error: could not compile" not in out:
            log(f"!! SKIPPED rustc {crate}/{tag}\n{out[-2000:]}")
            continue
        shown = (f'RUSTFLAGS="{rustflags}" ' if rustflags else "") + " ".join(cmd)
        add_case(
            id=f"rustc/{crate}-{tag}",
            kind="rustc",
            split=split,
            source=crate,
            task=RUSTC_TASKS[k % len(RUSTC_TASKS)].format(story=story),
            assistant=["Let me build it.", "", "I'll run cargo build."][k % 3],
            command=shown,
            output=out,
            gold=rustc_gold(out),
        )


# --------------------------------------------------------------------------
# Kind: traceback
# --------------------------------------------------------------------------

RE_FRAME = re.compile(r'^\s+File "[^"]+", line \d+, in \S.*$')
CHAIN_LINES = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)


def unmargin(line: str) -> str:
    """A line of an exception group's traceback without the group's `| ` margin."""
    t = line.lstrip()
    if t.startswith("|"):
        return t[2:] if t.startswith("| ") else t[1:]
    return line


def traceback_gold(out: str) -> list[str]:
    """Every exception line, every chaining line, the last frame of each traceback (of
    each exception group's traceback too, read without the group's margin)."""
    originals = out.split("\n")
    lines = [unmargin(l) for l in originals]
    gold: list[str] = []
    i = 0
    n = 0
    while i < len(lines):
        l = lines[i]
        if l.strip() in CHAIN_LINES and l.strip() == l:
            gold.append(originals[i])
        if l.lstrip() == "Traceback (most recent call last):" or l.lstrip().endswith(
            "Exception Group Traceback (most recent call last):"
        ):
            n += 1
            indent = len(l) - len(l.lstrip())
            last_frame = None
            j = i + 1
            while j < len(lines):
                m = lines[j]
                if RE_FRAME.match(m):
                    last_frame = j
                    j += 1
                    continue
                body = m[indent:] if m[:indent].strip() == "" else m
                if body and not body[0].isspace() and not body.startswith("Traceback"):
                    break
                j += 1
            if last_frame is not None:
                gold.append(originals[last_frame])
            if j < len(lines):
                gold.append(originals[j])
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
        "id": "flask-cli-import",
        "source": "flask-3.1.3",
        "split": "held",
        "files": {
            "app.py": """from flask import Flask

from settings import load_settings

app = Flask(__name__)
app.config.update(load_settings())


@app.get("/")
def index():
    return "ok"
""",
            "settings.py": """import json
import os


def load_settings():
    path = os.environ.get("APP_SETTINGS", "instance/settings.json")
    with open(path) as fh:
        return json.load(fh)
""",
        },
        "argv": ["flask", "--app", "app", "routes"],
        "task": "List the routes of the Flask app so I can see which endpoints exist.",
        "assistant": "I'll ask flask for the route table.",
    },
    {
        "id": "jinja2-filter-chain",
        "source": "jinja2-3.1.6",
        "split": "held",
        "files": {
            "templates/invoice.txt": "Invoice {{ invoice.id }}\n{% for line in invoice.lines %}\n{{ line.date | as_date }}  {{ line.text }}  {{ line.amount }}\n{% endfor %}\n",
            "make_invoices.py": """import datetime
import logging

from jinja2 import Environment, FileSystemLoader, TemplateRuntimeError

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("invoices")


def as_date(value):
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%d").strftime("%d %b %Y")
    except ValueError as e:
        raise TemplateRuntimeError(f"bad date {value!r} in invoice line") from e


env = Environment(loader=FileSystemLoader("templates"))
env.filters["as_date"] = as_date

invoices = [
    {"id": 1001, "lines": [{"date": "2024-02-01", "text": "hosting", "amount": 40}]},
    {"id": 1002, "lines": [{"date": "2024-02-03", "text": "support", "amount": 90},
                           {"date": "2024-02-30", "text": "backup", "amount": 15}]},
]
tmpl = env.get_template("invoice.txt")
for inv in invoices:
    log.info("rendering invoice %s (%d lines)", inv["id"], len(inv["lines"]))
    print(tmpl.render(invoice=inv))
    log.info("invoice %s done", inv["id"])
""",
        },
        "argv": ["python", "make_invoices.py"],
        "task": "Generate this month's invoices with make_invoices.py.",
        "assistant": "Running the invoice generator.",
    },
    {
        "id": "pytest-native-requests",
        "source": "requests-2.32.3",
        "split": "dev",
        "files": {
            "client.py": """import logging

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger("client")


class Client:
    def __init__(self, base, retries=2):
        self.base = base.rstrip("/")
        self.s = requests.Session()
        self.s.mount("http://", HTTPAdapter(max_retries=Retry(total=retries, backoff_factor=0)))

    def url(self, *parts):
        return "/".join([self.base, *[str(p).strip("/") for p in parts]])

    def get_user(self, uid):
        log.info("GET user %s", uid)
        r = self.s.get(self.url("users", uid), timeout=2)
        r.raise_for_status()
        return r.json()
""",
            "test_client.py": f"""import logging

import pytest

from client import Client

BASE = "http://127.0.0.1:{TB_PORT_CLOSED}/api/"


def test_url_joins_parts():
    assert Client(BASE).url("users", 7) == "http://127.0.0.1:{TB_PORT_CLOSED}/api/users/7"


def test_url_strips_slashes():
    assert Client(BASE).url("/users/", "/7/") == "http://127.0.0.1:{TB_PORT_CLOSED}/api/users/7"


def test_get_user(caplog):
    caplog.set_level(logging.DEBUG)
    user = Client(BASE).get_user(7)
    assert user["id"] == 7


@pytest.mark.parametrize("uid", [1, 2, 3])
def test_url_ids(uid):
    assert Client(BASE).url("users", uid).endswith(f"/users/{{uid}}")
""",
        },
        "argv": ["python", "-m", "pytest", "-q", "--tb=native", "-p", "no:cacheprovider", "test_client.py"],
        "task": "Run the client tests; test_get_user keeps failing and I don't see why.",
        "assistant": "",
    },
    {
        "id": "pytest-native-flask",
        "source": "flask-3.1.3",
        "split": "held",
        "files": {
            "shop.py": """from flask import Flask, jsonify

app = Flask("shop")
PRICES = {"A1": 4.5, "B2": 12.0}
CARTS = {"c1": [("A1", 2), ("B2", 1)], "c2": [("A1", 1), ("Z9", 3)]}


class PricingError(Exception):
    pass


def line_total(sku, qty):
    try:
        return PRICES[sku] * qty
    except KeyError as e:
        raise PricingError(f"no price for {sku}") from e


@app.get("/carts/<cid>/total")
def cart_total(cid):
    return jsonify(total=sum(line_total(s, q) for s, q in CARTS[cid]))
""",
            "test_shop.py": """import pytest

from shop import app


@pytest.fixture
def client():
    app.config["TESTING"] = True
    return app.test_client()


def test_total_c1(client):
    assert client.get("/carts/c1/total").get_json() == {"total": 21.0}


def test_total_c2(client):
    assert client.get("/carts/c2/total").get_json() == {"total": 4.5}


def test_unknown_route(client):
    assert client.get("/nope").status_code == 404
""",
        },
        "argv": ["python", "-m", "pytest", "--tb=native", "-p", "no:cacheprovider", "test_shop.py"],
        "task": "Run the shop tests and fix the failure.",
        "assistant": "Running the tests.",
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
    # added later (dev): exceptions whose names do not end in Error
    {
        "id": "cpython-decimal-total",
        "source": "cpython-3.11",
        "split": "dev",
        "files": {
            "report.py": """import csv
import decimal
import io

DATA = "id,amount\\n1,10.50\\n2,abc\\n3,7\\n"


def total(rows):
    return sum(decimal.Decimal(r["amount"]) for r in rows)


def report():
    rows = list(csv.DictReader(io.StringIO(DATA)))
    print("total", total(rows))


report()
""",
        },
        "argv": ["python", "report.py"],
        "task": "Print the total amount of the CSV report.",
        "assistant": "Running the report script.",
    },
    {
        "id": "cpython-subprocess-timeout",
        "source": "cpython-3.11",
        "split": "dev",
        "files": {
            "release.py": """import subprocess


def build():
    subprocess.run(["sleep", "5"], check=True, timeout=0.2)


def release():
    try:
        build()
    except subprocess.TimeoutExpired as e:
        raise RuntimeError("build step timed out, aborting the release") from e


release()
""",
        },
        "argv": ["python", "release.py"],
        "task": "Cut a release with the release script.",
        "assistant": "I'll run the release script.",
    },
    # Added in the sixth round: an exception group (asyncio's TaskGroup) and a recursion.
    {
        "id": "cpython-taskgroup",
        "source": "cpython-3.11",
        "split": "dev",
        "files": {
            "fetch_shards.py": """import asyncio


async def fetch(name, delay, fail):
    await asyncio.sleep(delay)
    if fail == "reset":
        raise ConnectionResetError(f"{name}: connection reset by peer")
    if fail == "parse":
        raise ValueError(f"{name}: unexpected end of JSON payload")
    return name


async def main():
    async with asyncio.TaskGroup() as tg:
        for i, fail in enumerate([None, "reset", None, "parse"]):
            tg.create_task(fetch(f"shard-{i}", 0.05 if fail else 0.01, fail))


asyncio.run(main())
""",
        },
        "argv": ["python", "fetch_shards.py"],
        "task": "Run the shard fetcher and tell me why it crashes.",
        "assistant": "",
    },
    {
        "id": "cpython-recursion",
        "source": "cpython-3.11",
        "split": "dev",
        "files": {
            "tree.json": '{"name": "root", "children": [{"name": "a", "children": [1, 2]}, '
            '{"name": "leaf-without-children"}]}\n',
            "count_leaves.py": """import json


def flatten(node, out):
    for child in node.get("children", [node]):
        if isinstance(child, dict):
            flatten(child, out)
        else:
            out.append(child)
    return out


def main():
    with open("tree.json") as fh:
        tree = json.load(fh)
    print(len(flatten(tree, [])))


if __name__ == "__main__":
    main()
""",
        },
        "argv": ["python", "count_leaves.py"],
        "task": "Count the leaves of tree.json with count_leaves.py.",
        "assistant": "Let me run the counter.",
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
# Kind: mypy (added in the sixth round)
# --------------------------------------------------------------------------

# (sdist, split, tag, folder checked, focus file or None, bug (file, old, new) or None,
#  story). With a focus file, the task asks what mypy says about that file; with a bug,
# whether the change broke the types.
MYPY_CASES = [
    ("cachetools", "dev", "keys", "src", "src/cachetools/keys.py", None,
     "I'm adding type hints to cachetools, starting with keys.py"),
    ("markdown", "dev", "wikilinks", "markdown", "markdown/extensions/wikilinks.py", None,
     "I want Markdown's wikilinks extension to pass mypy --strict"),
    ("jinja2", "dev", "url-quote", "src", None,
     ("src/jinja2/utils.py", '        rv = rv.replace("%20", "+")',
      '        rv = rv.replace(b"%20", b"+")'),
     "I made jinja2's url_quote replace the spaces on the bytes"),
    ("flask", "held", "wrappers", "src", "src/flask/wrappers.py", None,
     "I'm typing flask's request and response wrappers properly"),
]

MYPY_TASKS = [
    "{story}. Run mypy --strict and tell me what it still reports for {focus}.",
    "{story}. Run mypy --strict and tell me what is left to fix in {focus}.",
    "{story}. Did that break the types? Run mypy --strict and check.",
]

RE_MYPY_LINE = re.compile(r"^\S+\.py:\d+: (error|note): ")
RE_MYPY_FINAL = re.compile(r"^(Found \d+ errors? in \d+ files?|Success: no issues found)")


def gen_mypy():
    v = venv("mypy")
    for k, (proj, split, tag, folder, focus, bug, story) in enumerate(MYPY_CASES):
        root = unpack(proj, SCRATCH / "mypy")
        cmd = ["python", "-m", "mypy", "--strict", "--no-incremental", folder]
        base, out, rc = before_and_after(cmd, root, env_for(v), bug)
        log(f"mypy {proj}/{tag}: rc={rc}")
        lines = out.split("\n")
        final = [l for l in lines if RE_MYPY_FINAL.match(l)]
        assert rc != 0 and final, out[-2000:]
        if focus:
            gold = [l for l in lines if l.startswith(focus + ":")]
        else:
            # what the change added: the lines the run before it did not print
            before = set(base.split("\n"))
            gold = [l for l in lines if l not in before and RE_MYPY_LINE.match(l)]
        gold = list(dict.fromkeys(g for g in gold if g.strip()))[: GOLD_CAP - 1] + final[-1:]
        add_case(
            id=f"mypy/{proj}-{tag}",
            kind="mypy",
            split=split,
            source=root.name,
            task=MYPY_TASKS[2 if bug else k % 2].format(story=story, focus=focus),
            assistant=["Running mypy.", ""][k % 2],
            command=" ".join(cmd),
            output=out,
            gold=gold,
        )


# --------------------------------------------------------------------------
# Kind: tap (added in the seventh round): tape's TAP report of npm packages' own tests
# --------------------------------------------------------------------------

# tape and what qs's tests require, pinned (their own dependencies are npm's choice).
TAPE_TOOLS = ["tape@5.9.0"]
TAP_PROJECTS = {
    # npm package: (split, extra test packages)
    "minimist@1.2.8": ("dev", []),
    "qs@6.14.0": ("held", ["es-value-fixtures@1.7.1", "for-each@0.3.5", "has-bigints@1.1.0",
                           "has-override-mistake@1.0.1", "has-property-descriptors@1.0.2",
                           "has-proto@1.2.0", "has-symbols@1.1.0", "iconv-lite@0.6.3",
                           "mock-property@1.1.0", "object-inspect@1.13.4", "safer-buffer@2.1.2",
                           "side-channel@1.1.0"]),
}
TAP_BUGS = [
    # (package, tag, file, old, new, story)
    ("minimist@1.2.8", "decimal", "index.js",
     "return (/^[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(e[-+]?\\d+)?$/).test(x);",
     "return (/^[-+]?(?:\\d+)(e[-+]?\\d+)?$/).test(x);",
     "I simplified minimist's number detection"),
    ("minimist@1.2.8", "no-prefix", "index.js",
     "key = arg.match(/^--no-(.+)/)[1];\n\t\t\tsetArg(key, false, arg);",
     "key = arg.match(/^--no-(.+)/)[1];\n\t\t\tsetArg(key, true, arg);",
     "I refactored how minimist reads --no- flags"),
    ("minimist@1.2.8", "short-string", "index.js",
     "setArg(letters[j], flags.strings[letters[j]] ? '' : true, arg);",
     "setArg(letters[j], true, arg);",
     "I cleaned up minimist's grouped short flags"),
    ("qs@6.14.0", "plus", "lib/utils.js",
     "var strWithoutPlus = str.replace(/\\+/g, ' ');",
     "var strWithoutPlus = str;",
     "I sped up qs's decoder"),
    ("qs@6.14.0", "depth", "lib/parse.js",
     "    depth: 5,",
     "    depth: 4,",
     "I lowered qs's default nesting depth"),
]
TAP_TASKS = [
    "{story}. Run the tests and fix whatever fails.",
    "{story}; the test suite fails now. Which tests, and why?",
]
RE_TAP_NOT_OK = re.compile(r"^not ok \d+\b")
RE_TAP_FAIL = re.compile(r"^# fail +\d+$")


def tap_gold(out: str) -> list[str]:
    """Per failing assertion: the `# test` line it is under, its `not ok` line, the
    expected and actual values and where it is (`at:`); then the `# fail N` line."""
    lines = out.split("\n")
    gold: list[str] = []
    test = None
    for i, l in enumerate(lines):
        if l.startswith("# ") and not RE_TAP_FAIL.match(l):
            test = l
        if not RE_TAP_NOT_OK.match(l):
            continue
        if test:
            gold.append(test)
        gold.append(l)
        j = i + 1
        while j < len(lines) and lines[j].strip() != "..." and not lines[j].startswith(("ok ", "not ok ", "# ")):
            t = lines[j].strip()
            if t.startswith(("expected:", "actual:")):
                # a block value (`|-`) is on the next line
                gold.append(lines[j + 1] if t.endswith("|-") else lines[j])
            elif t.startswith("at: "):
                gold.append(lines[j])
            j += 1
    final = [l for l in lines if RE_TAP_FAIL.match(l)]
    assert final, "no # fail line"
    return list(dict.fromkeys(gold))[: GOLD_CAP - 1] + final[-1:]


def npm_unpack(spec: str, parent: Path) -> Path:
    """The npm tarball of `spec` (name@version), unpacked afresh under `parent`."""
    name, ver = spec.rsplit("@", 1)
    (parent / "npm").mkdir(parents=True, exist_ok=True)
    tgz = parent / "npm" / f"{name}-{ver}.tgz"
    if not tgz.exists():
        check(["npm", "pack", "--silent", spec], cwd=parent / "npm")
    root = parent / f"{name}-{ver}"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    check(["tar", "xzf", str(tgz), "-C", str(root), "--strip-components=1"])
    return root


def npm_tools(name: str, packages: list[str]) -> Path:
    """A folder with `packages` installed: the test tools (`node_modules`) of a project."""
    d = SCRATCH / "npmtools" / name
    stamp = d / ".done"
    want = "\n".join(packages)
    if stamp.exists() and stamp.read_text() == want:
        return d
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "package.json").write_text('{"private": true}\n')
    check(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact", *packages], cwd=d)
    stamp.write_text(want)
    return d


def link_tools(root: Path, tools: Path) -> Path:
    """`root`'s node_modules with the packages of `tools` (see `npm_tools`) linked in, for
    a tool that resolves its plugins and the project's imports from there (ESM does not
    read NODE_PATH); what the project ships stays."""
    modules = root / "node_modules"
    modules.mkdir(exist_ok=True)
    for entry in sorted((tools / "node_modules").iterdir()):
        if not (modules / entry.name).exists():
            (modules / entry.name).symlink_to(entry)
    return modules


def gen_tap():
    work = SCRATCH / "tap"
    for k, (spec, tag, rel, old, new, story) in enumerate(TAP_BUGS):
        split, extra = TAP_PROJECTS[spec]
        tools = npm_tools(spec.rsplit("@", 1)[0], TAPE_TOOLS + extra)
        root = npm_unpack(spec, work)
        replace_once(root / rel, old, new)
        # tape expands the glob itself; NODE_PATH lets the tests require the tools
        cmd = ["node", str(tools / "node_modules" / "tape" / "bin" / "tape"), "test/*.js"]
        out, rc = run(cmd, root, env_for(extra={"NODE_PATH": str(tools / "node_modules")}))
        log(f"tap {spec}/{tag}: rc={rc}")
        if rc == 0 or not any(RE_TAP_FAIL.match(l) for l in out.split("\n")):
            log(f"!! SKIPPED tap {spec}/{tag}\n{out[-2000:]}")
            continue
        add_case(
            id=f"tap/{spec.replace('@', '-')}-{tag}",
            kind="tap",
            split=split,
            source=spec.replace("@", "-"),
            task=TAP_TASKS[k % 2].format(story=story),
            assistant=["I'll run the test suite.", ""][k % 2],
            command="npx tape 'test/*.js'",
            output=out,
            gold=tap_gold(out),
        )


# --------------------------------------------------------------------------
# Kind: go-test (added in the ninth round): `go test` of Go libraries and of Go's own
# standard library, from Debian's packages, with an injected bug
# --------------------------------------------------------------------------

# Go's toolchain and its sources are two packages; GOROOT joins them.
GO_DEBS = ("golang-1.19-go", "golang-1.19-src")
# import path: (Debian package, split)
GO_PROJECTS = {
    "github.com/dustin/go-humanize": ("golang-github-dustin-go-humanize-dev", "dev"),
    "github.com/hashicorp/go-version": ("golang-github-hashicorp-go-version-dev", "dev"),
    "github.com/Masterminds/semver": ("golang-github-masterminds-semver-dev", "held"),
    "github.com/blang/semver": ("golang-github-blang-semver-dev", "held"),
}
GO_BUGS = [
    # (project or "std", tag, file, old, new, story); a standard-library bug goes in by
    # `go test -overlay`, Go's own way to build with a changed file
    ("github.com/dustin/go-humanize", "ordinal", "ordinals.go",
     "\t\tif x%100 != 11 {", "\t\tif x%100 != 1 {",
     "I simplified go-humanize's Ordinal"),
    ("github.com/dustin/go-humanize", "bytes-round", "bytes.go",
     "val := math.Floor(float64(s)/math.Pow(base, e)*10+0.5) / 10",
     "val := math.Floor(float64(s)/math.Pow(base, e)*10) / 10",
     "I changed how go-humanize rounds byte sizes"),
    ("github.com/dustin/go-humanize", "comma-pad", "comma.go",
     "\t\tparts[j] = strconv.FormatInt(v%1000, 10)\n\t\tswitch len(parts[j]) {\n\t\tcase 2:\n\t\t\tparts[j] = \"0\" + parts[j]\n\t\tcase 1:\n\t\t\tparts[j] = \"00\" + parts[j]",
     "\t\tparts[j] = strconv.FormatInt(v%1000, 10)\n\t\tswitch len(parts[j]) {\n\t\tcase 2:\n\t\t\tparts[j] = \"0\" + parts[j]\n\t\tcase 1:\n\t\t\tparts[j] = \"0\" + parts[j]",
     "I cleaned up go-humanize's Comma"),
    ("github.com/hashicorp/go-version", "prerelease", "version.go",
     "\t\tif preSelf == \"\" {\n\t\t\treturn 1\n\t\t}",
     "\t\tif preSelf == \"\" {\n\t\t\treturn -1\n\t\t}",
     "I reworked prerelease ordering in hashicorp/go-version"),
    ("std", "url-unreserved", "net/url/url.go",
     "case '-', '_', '.', '~': // §2.3 Unreserved characters (mark)",
     "case '-', '_', '.': // §2.3 Unreserved characters (mark)",
     "I'm patching Go's net/url escaping for our fork of the toolchain"),
    ("std", "json-amp", "encoding/json/encode.go",
     "\t\tif c == '<' || c == '>' || c == '&' {",
     "\t\tif c == '<' || c == '>' {",
     "I'm patching encoding/json's HTMLEscape in our fork of Go"),
    ("std", "repeat", "strings/strings.go",
     "\tif count == 0 {\n\t\treturn \"\"\n\t}",
     "\tif count <= 1 {\n\t\treturn s\n\t}",
     "I added a fast path to strings.Repeat in our fork of Go"),
    ("std", "parse-bool", "strconv/atob.go",
     "\tcase \"1\", \"t\", \"T\", \"true\", \"TRUE\", \"True\":",
     "\tcase \"1\", \"t\", \"true\", \"TRUE\", \"True\":",
     "I trimmed strconv.ParseBool's accepted spellings in our fork of Go"),
    ("github.com/Masterminds/semver", "compare-pre", "version.go",
     "\tif ps == \"\" {\n\t\treturn 1\n\t}",
     "\tif ps == \"\" {\n\t\treturn -1\n\t}",
     "I reworked how Masterminds/semver orders prereleases"),
    ("github.com/blang/semver", "compare-minor", "v4/semver.go",
     "\tif v.Minor != o.Minor {\n\t\tif v.Minor > o.Minor {",
     "\tif v.Minor != o.Minor {\n\t\tif v.Minor < o.Minor {",
     "I refactored blang/semver's Compare"),
]
GO_SPLIT_STD = "dev"
# `go test` without -v prints only the failures: often a few lines, which `pith serve`
# forwards whole (min_chars) and whose budget at 8x is a dozen tokens. Such runs are
# left out rather than measured.
GO_MIN_CHARS = 2000
GO_TASKS = [
    "{story}. Run the tests and fix what broke.",
    "{story}; go test fails now. Which tests, and why?",
    "{story}. The tests are red, please investigate.",
]
RE_GO_FAIL = re.compile(r"^\s*--- FAIL: \S+ \(\d+\.\d+s\)$")
RE_GO_MSG = re.compile(r"^\s+[\w./-]+\.go:\d+: \S")
RE_GO_FINAL = re.compile(r"^FAIL\t\S+\t")


def goroot() -> Path:
    """A GOROOT of Debian's Go: the toolchain package's files with the sources'."""
    # The toolchain package also ships generated sources, so both unpack into one tree.
    tree = SCRATCH / "go" / "debs"
    if not tree.exists():
        tree.mkdir(parents=True)
        for p in GO_DEBS:
            check(["dpkg-deb", "-x", str(deb_file(p)), str(tree)])
    return tree / "usr/lib/go-1.19"


def go_env() -> dict:
    g = goroot()
    return env_for(extra={
        "GOROOT": str(g),
        "PATH": f"{g / 'bin'}:{BASE_ENV['PATH']}",
        "GOPATH": str(SCRATCH / "go" / "gopath"),
        "GOCACHE": str(SCRATCH / "go" / "cache"),
        "GOPROXY": "off",
        # one test at a time and never a cached result: t.Parallel tests then run, and
        # print, in one order, and every run is a run
        "GOFLAGS": "-mod=mod -parallel=1 -count=1",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    })


def go_test_gold(out: str) -> list[str]:
    """Per failing test (subtests included), in the order go prints them: its
    `--- FAIL: T (…)` line and the first two `file_test.go:N: message` lines it logged;
    then the package's `FAIL\tpkg\t…` line."""
    lines = out.split("\n")
    logged: dict[str, list[str]] = {}
    verbose = any(l.startswith("=== RUN") for l in lines)
    test = None
    for i, l in enumerate(lines):
        # -v prints a test's messages after `=== RUN`, before its verdict; otherwise they
        # follow the verdict
        run_ = re.match(r"^=== (?:RUN|CONT)\s+(\S+)$", l)
        fail = RE_GO_FAIL.match(l)
        if run_ and verbose:
            test = run_.group(1)
        elif fail and not verbose:
            test = l.split()[2]
        elif RE_GO_MSG.match(l) and test:
            logged.setdefault(test, []).append(l)
    gold: list[str] = []
    for l in lines:
        if RE_GO_FAIL.match(l):
            gold.append(l)
            gold.extend(logged.get(l.split()[2], [])[:2])
    final = [l for l in lines if RE_GO_FINAL.match(l)]
    assert final, "no FAIL line of a package"
    return list(dict.fromkeys(gold))[: GOLD_CAP - 1] + final[:1]


def go_project(path: str) -> Path:
    """A fresh copy of a Debian-packaged Go library, as a module of its own."""
    deb, _ = GO_PROJECTS[path]
    src = unpack_deb(deb) / "usr/share/gocode/src" / path
    dst = SCRATCH / "go" / "src" / path.rsplit("/", 1)[-1]
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=False)
    if not (dst / "go.mod").exists():
        (dst / "go.mod").write_text(f"module {path}\n\ngo 1.19\n")
    return dst


def gen_go_test():
    env = go_env()
    for k, (project, tag, rel, old, new, story) in enumerate(GO_BUGS):
        for verbose in (False, True):
            flags = ["-v"] if verbose else []
            if project == "std":
                pkg = rel.rsplit("/", 1)[0]
                orig = goroot() / "src" / rel
                changed = SCRATCH / "go" / "overlay" / rel
                changed.parent.mkdir(parents=True, exist_ok=True)
                changed.write_text(orig.read_text())
                replace_once(changed, old, new)
                overlay = SCRATCH / "go" / "overlay" / f"{tag}.json"
                overlay.write_text(json.dumps({"Replace": {str(orig): str(changed)}}))
                cmd = ["go", "test", f"-overlay={overlay}", *flags, pkg]
                shown = " ".join(["go", "test", *flags, pkg])
                cwd, split, source = SCRATCH, GO_SPLIT_STD, f"go-1.19-{pkg.replace('/', '-')}"
            else:
                cwd = go_project(project)
                replace_once(cwd / rel, old, new)
                cmd = ["go", "test", *flags, "./..."]
                shown, split = " ".join(cmd), GO_PROJECTS[project][1]
                owner, name = project.split("/")[1:]
                source = f"{owner.lower()}-{name}-{DEBS[GO_PROJECTS[project][0]].split('-')[0]}"
            out, rc = run(cmd, cwd, env, timeout=1800)
            name = f"{tag}-v" if verbose else tag
            log(f"go-test {project}/{name}: rc={rc}")
            if rc == 0 or not any(RE_GO_FINAL.match(l) for l in out.split("\n")):
                log(f"!! SKIPPED go-test {project}/{name}\n{out[-2000:]}")
                continue
            if len(out) < GO_MIN_CHARS:
                log(f"  go-test {project}/{name}: {len(out)} characters, left out")
                continue
            add_case(
                id=f"go-test/{source}-{name}",
                kind="go-test",
                split=split,
                source=source,
                task=GO_TASKS[k % len(GO_TASKS)].format(story=story),
                assistant=["Running the tests.", "", "Let me run go test."][k % 3],
                command=shown,
                output=out,
                gold=go_test_gold(out),
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
    # added later (dev): Go from a Debian source package, JavaScript from npm
    ("deb:golang-github-spf13-cobra-dev:usr/share/gocode/src/github.com/spf13/cobra", "dev", 3),
    ("npm:commander@12.1.0", "dev", 2),
    ("npm:luxon@3.5.0:src", "dev", 2),
]

# Go and JavaScript definitions (top level): the name, and the word the task uses.
DEF_PATTERNS = {
    ".go": [(re.compile(r"^func (?:\([^)]*\) )?([A-Z]\w{3,})\("), "function"),
            (re.compile(r"^type ([A-Z]\w{3,}) (?:struct|interface)\b"), "type")],
    ".js": [(re.compile(r"^(?:export )?(?:async )?function\*? ([A-Za-z_]\w{3,})\s*\("), "function"),
            (re.compile(r"^(?:export )?(?:default )?class ([A-Za-z_]\w{3,})\b"), "class"),
            (re.compile(r"^(?:export )?(?:const|let|var) ([A-Za-z_]\w{3,}) = "), "binding")],
}


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
    if spec.startswith("deb:"):
        pkg, sub = spec[len("deb:"):].split(":", 1)
        return unpack_deb(pkg) / sub, f"{pkg}_{DEBS[pkg]}"
    if spec.startswith("npm:"):
        pkg, _, sub = spec[len("npm:"):].partition(":")
        name, ver = pkg.split("@")
        dst = parent / f"{name}-{ver}"
        if not dst.exists():
            (parent / "npm").mkdir(parents=True, exist_ok=True)
            check(["npm", "pack", "--silent", f"{name}@{ver}"], cwd=parent / "npm")
            dst.mkdir(parents=True)
            check(["tar", "xzf", str(parent / "npm" / f"{name}-{ver}.tgz"), "-C", str(dst)])
        return dst / "package" / sub, f"{name}-{ver}"
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
    # distinctive names only: CamelCase or snake_case with an underscore
    def distinctive(name):
        return not name.startswith("_") and (
            (name[0].isupper() and any(c.islower() for c in name)) or "_" in name)
    return by_mentions(defs, "\n".join(texts), distinctive, 60)


def by_mentions(defs, allt, distinctive, least):
    """The names of `defs` defined exactly once, not test names, that `distinctive`
    accepts and `allt` mentions `least` to 600 times (as a word): (mentions, name, what
    `defs` holds for it), most mentioned first."""
    cands = []
    for name, found in sorted(defs.items()):
        if len(found) != 1 or name.lower().startswith("test") or not distinctive(name):
            continue
        hits = len(re.findall(r"\b%s\b" % re.escape(name), allt))
        if least <= hits <= 600:
            cands.append((hits, name, found[0]))
    cands.sort(key=lambda c: (-c[0], c[1]))
    return cands


def other_candidates(root: Path, ext: str):
    """Go and JavaScript: names defined exactly once at the top of a file (outside tests),
    CamelCase, camelCase or snake_case, with 20-600 mentions (these sources are smaller);
    each with its word and its definition line."""
    defs: dict[str, list[tuple[str, str]]] = {}
    texts = []
    for f in sorted(root.rglob(f"*{ext}")):
        texts.append(f.read_text(errors="replace"))
        rel = f.relative_to(root)
        if {"test", "tests", "testdata", "examples"} & set(rel.parts) or f.stem.endswith("_test"):
            continue
        for line in texts[-1].split("\n"):
            for pat, word in DEF_PATTERNS[ext]:
                m = pat.match(line)
                if m:
                    defs.setdefault(m.group(1), []).append((word, line))
    def distinctive(name):
        return (any(c.isupper() for c in name) and any(c.islower() for c in name)) or "_" in name
    return by_mentions(defs, "\n".join(texts), distinctive, 20)


def gen_grep():
    parent = SCRATCH / "grepsrc"
    k = 0
    for spec, split, count in GREP_SOURCES:
        rust = spec.startswith("crate:")
        root, src_name = source_root(spec, parent)
        ext = ".go" if "golang" in spec else ".js" if spec.startswith("npm:") else None
        cands = other_candidates(root, ext) if ext else grep_candidates(root, rust)
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
            if ext:
                what, line = what
                dre = re.compile(r"^[^:]+:\d+:%s$" % re.escape(line))
            elif rust:
                dre = re.compile(r"^[^:]+:\d+:\s*pub(?:\([^)]*\))? %s %s\b" % (what, re.escape(name)))
            else:
                dre = re.compile(r"^[^:]+:\d+:\s*%s %s\b" % (what, re.escape(name)))
            gold = [l for l in out.split("\n") if dre.match(l)]
            if len(gold) != 1 or len(out.split("\n")) < 50:
                log(f"grep/{name}: skipped ({len(gold)} definitions, {len(out.splitlines())} lines)")
                continue
            word = {"class": "class", "def": "function", "fn": "function", "struct": "struct", "enum": "enum",
                    "trait": "trait", "function": "function", "type": "type", "binding": "constant"}[what]
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
# Kind: json (recorded API responses shipped in PyGithub's and pynetbox's test fixtures)
# --------------------------------------------------------------------------

JSON_SDIST = ("pygithub", "2.6.1")
JSON_MAX_CASES = 14


def replay_records(path: Path):
    """PyGithub ReplayData: records of 10 lines (scheme, verb, host, port, path,
    request headers, request body, status, response headers, response body)
    separated by an empty line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i + 9 < len(lines):
        rec = lines[i : i + 10]
        if rec[0] in ("http", "https"):
            yield {"verb": rec[1], "host": rec[2], "path": rec[4], "status": rec[7], "body": rec[9]}
            i += 11
        else:
            i += 1


def json_item_kind(path: str, item: dict):
    if "number" in item and "title" in item and "state" in item:
        what = "PR" if "/pulls" in path or "pull_request" not in item and "/pulls" in path else (
            "pull request" if "/pulls" in path else "issue")
        return "number", what
    if "sha" in item and isinstance(item.get("commit"), dict):
        return "sha", "commit"
    if "login" in item and "id" in item and "type" in item:
        return "login", "user"
    if "full_name" in item and "name" in item:
        return "full_name", "repo"
    return None, None


JSON_GOLD_KEYS = {
    "number": ["number", "title", "state"],
    "sha": ["sha", "message"],
    "login": ["login", "id", "type"],
    "full_name": ["full_name", "description", "fork"],
}


def json_task(key: str, what: str, item: dict, k: int) -> str:
    if key == "number":
        return [
            f"What's the title of {what} #{item['number']}, and is it still open?",
            f"Is {what} #{item['number']} open or closed? What is it about?",
        ][k % 2]
    if key == "sha":
        return f"What was the commit message of commit {item['sha'][:10]}?"
    if key == "login":
        return f"What is the numeric id of the GitHub account {item['login']}, and is it a user or an organization?"
    return f"What's the description of the {item['full_name']} repository, and is it a fork?"


def pretty_item_block(lines: list[str], idx: int) -> list[str]:
    """Lines of the idx-th element of a top-level array pretty-printed with indent 2."""
    n = -1
    for i, l in enumerate(lines):
        if l == "  {":
            n += 1
            if n == idx:
                j = i + 1
                while lines[j] not in ("  }", "  },"):
                    j += 1
                return lines[i : j + 1]
    raise AssertionError("item not found")


def gen_json():
    v = venv("tools")
    root = unpack(JSON_SDIST[0], SCRATCH / "jsonsrc", fresh=False)
    files = sorted((root / "tests" / "ReplayData").glob("*.txt"))
    chosen = []
    seen_paths = set()
    for f in files:
        for rec in replay_records(f):
            if rec["verb"] != "GET" or rec["status"] != "200":
                continue
            try:
                data = json.loads(rec["body"])
            except ValueError:
                continue
            if not isinstance(data, list) or len(data) < 20 or not all(isinstance(x, dict) for x in data):
                continue
            key, what = json_item_kind(rec["path"], data[0])
            if key is None or any(key not in x for x in data):
                continue
            ident = (key, json.dumps(data[0].get(key)), json.dumps(data[(len(data) * 2) // 3].get(key)))
            if rec["path"] in seen_paths or ident in seen_paths or len(rec["body"]) > 400_000:
                continue
            seen_paths.add(rec["path"])
            seen_paths.add(ident)
            chosen.append((f, rec, data, key, what))
            break  # one response per fixture file
    # spread the picks over kinds of items: round-robin by key, in file order
    by_key: dict[str, list] = {}
    for c in chosen:
        by_key.setdefault(c[3], []).append(c)
    picks = []
    while len(picks) < JSON_MAX_CASES and any(by_key.values()):
        for key in sorted(by_key):
            if by_key[key] and len(picks) < JSON_MAX_CASES:
                picks.append(by_key[key].pop(0))
    picks.sort(key=lambda c: c[0].name)
    for k, (f, rec, data, key, what) in enumerate(picks):
        split = "held" if k % 5 in (1, 3) else "dev"
        idx = (len(data) * 2) // 3
        item = data[idx]
        url = f"https://{rec['host']}{rec['path']}"
        pretty = k % 2 == 0
        if pretty:
            cmd = f"curl -s '{url}' | python3 -m json.tool --indent 2 --no-ensure-ascii"
            out = json_tool(v, rec["body"])
            block = pretty_item_block(out.split("\n"), idx)
            gold = []
            for gk in JSON_GOLD_KEYS[key]:
                # the item's own keys sit at indent 4; a commit's message at 6
                ind = " " * (6 if gk == "message" else 4)
                hit = next((l for l in block if l.startswith(f'{ind}"{gk}": ')), None)
                if hit:
                    gold.append(hit)
        else:
            cmd = f"curl -s '{url}'"
            out = rec["body"]
            gold = []
            for gk in JSON_GOLD_KEYS[key]:
                val = item.get(gk) if gk != "message" else item["commit"]["message"]
                for ea in (True, False):
                    sub = f'"{gk}":' + json.dumps(val, separators=(",", ":"), ensure_ascii=ea)
                    if sub in out:
                        gold.append(sub)
                        break
        if not gold:
            continue
        add_json_case(
            f.stem,
            pretty,
            split=split,
            source=f"PyGithub-{JSON_SDIST[1]}:tests/ReplayData/{f.name}",
            task=json_task(key, what, item, k),
            assistant="I'll fetch it from the API.",
            command=cmd,
            output=out,
            gold=gold,
        )


def add_json_case(stem: str, pretty: bool, **case):
    """A JSON case: pretty-printed ones have gold lines, compact ones gold substrings."""
    add_case(id=f"json/{stem}-{'pretty' if pretty else 'compact'}", kind="json", compact=not pretty, **case)


def json_tool(v: Path, text: str) -> str:
    """`text` through `python -m json.tool --indent 2 --no-ensure-ascii`."""
    body_file = SCRATCH / "jsonsrc" / "body.json"
    body_file.write_text(text, encoding="utf-8")
    out, rc = run(["python", "-m", "json.tool", "--indent", "2", "--no-ensure-ascii", str(body_file)], SCRATCH,
                  env_for(v, {"PYTHONIOENCODING": "utf-8"}))
    assert rc == 0, out
    return out


# NetBox API responses recorded in pynetbox's test fixtures: a paged wrapper
# (`count`, `next`, `results`) around items that nest the object they belong to.
NETBOX_SDIST = ("pynetbox", "7.8.0")
NETBOX_FIXTURES = [
    "dcim/console_server_port_templates.json",
    "dcim/console_server_ports.json",
    "dcim/interfaces.json",
    "dcim/interfaces_1.json",
    "dcim/power_outlet_templates.json",
    "dcim/power_outlets.json",
    "dcim/power_ports.json",
]


def netbox_owner(item: dict) -> tuple[str, str]:
    """What an item belongs to: (its key, the owner's name)."""
    if isinstance(item.get("device"), dict):
        return "device", item["device"]["name"]
    return "device_type", item["device_type"]["model"]


def netbox_task(item: dict) -> tuple[str, list[tuple[str, ...]]]:
    """The question about an item, and the key path of each field its answer needs."""
    name, (okey, owner) = item["name"], netbox_owner(item)
    if "form_factor" in item:
        return (f"What kind of port is {name} on {owner}, and is it management-only?",
                [("id",), ("name",), ("form_factor", "label"), ("mgmt_only",)])
    if "power_outlet" in item:
        return (f"Which PDU outlet feeds {name} of {owner}, and is the connection marked as connected?",
                [("id",), ("name",), ("power_outlet", "name"), ("connection_status",)])
    for link in ("connected_console", "connected_port"):
        if link in item:
            return (f"Is anything connected to {name} on {owner}? I also need its id.",
                    [("id",), ("name",), (link,)])
    assert okey == "device_type", item
    return (f"What is the id of the {name} template on the {owner}?", [("id",), ("name",)])


def netbox_pick(results: list[dict]) -> int:
    """The item two thirds down (or the next after it) whose (owner, name) is its own."""
    pairs = [(netbox_owner(r)[1], r["name"]) for r in results]
    start = len(results) * 2 // 3
    for i in list(range(start, len(results))) + list(range(start)):
        if pairs.count(pairs[i]) == 1:
            return i
    raise AssertionError("no unique item")


def gen_json_netbox():
    v = venv("tools")
    root = unpack(NETBOX_SDIST[0], SCRATCH / "jsonsrc", fresh=False)
    for k, rel in enumerate(NETBOX_FIXTURES):
        data = json.loads((root / "tests" / "fixtures" / rel).read_text(encoding="utf-8"))
        results = data["results"]
        idx = netbox_pick(results)
        item = results[idx]
        task, fields = netbox_task(item)
        split = "held" if k % 5 in (1, 3) else "dev"
        endpoint = rel.removesuffix(".json").rstrip("_0123456789").replace("_", "-")
        url = (data.get("next") or "").split("&offset=")[0] or f"http://localhost:8000/api/{endpoint}/"
        pretty = k % 2 == 0
        compact_body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if pretty:
            cmd = f"curl -s '{url}' | python3 -m json.tool --indent 2 --no-ensure-ascii"
            out = json_tool(v, compact_body)
            lines = out.split("\n")
            # the results' items open at indent 4; their keys sit at 6, a nested object's at 8
            first = [i for i, l in enumerate(lines) if l == "    {"][idx]
            last = next(i for i in range(first, len(lines)) if lines[i] in ("    }", "    },"))
            block = lines[first : last + 1]
            gold = []
            for path in fields:
                want = f'{" " * (4 + 2 * len(path))}"{path[-1]}": '
                at = 0
                if len(path) > 1:
                    at = next(i for i, l in enumerate(block) if l.startswith(f'      "{path[0]}": '))
                hit = next((l for l in block[at:] if l.startswith(want)), None)
                if hit:
                    gold.append(hit)
        else:
            cmd = f"curl -s '{url}'"
            out = compact_body
            span = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
            at = out.index(span)
            gold = []
            for path in fields:
                val = item
                for key in path:
                    val = val[key]
                sub = f'"{path[-1]}":' + json.dumps(val, separators=(",", ":"), ensure_ascii=False)
                pos = out.index(sub, at)
                assert pos < at + len(span), (rel, sub)
                # with the character after it, so `"id":18` is not found in `"id":184`
                gold.append(sub + out[pos + len(sub)])
        add_json_case(
            f"netbox-{rel.replace('/', '-').removesuffix('.json')}",
            pretty,
            split=split,
            source=f"pynetbox-{NETBOX_SDIST[1]}:tests/fixtures/{rel}",
            task=task,
            assistant="I'll query NetBox's API for it.",
            command=cmd,
            output=out,
            gold=gold,
        )


# --------------------------------------------------------------------------
# Kinds: git-log and git-diff
# --------------------------------------------------------------------------

# Fixed ranges of this project's own history (dev) ...
PITH_RANGES = [
    ("d6210830c629327f10bc4506b8a99bcded631c04", "19dcbbb495c76c32c7b3760b7da2455ada1c777f"),
    ("19dcbbb495c76c32c7b3760b7da2455ada1c777f", "01b78a0387942696513740fae9ffcaf611a86183"),
    ("01b78a0387942696513740fae9ffcaf611a86183", "fdd9e3815d6c5afe41cced90d93cdb6fbdaf18c9"),
    ("fdd9e3815d6c5afe41cced90d93cdb6fbdaf18c9", "5a557d642cc1a39d828b7d475af4695d7c8e457a"),
    ("5a557d642cc1a39d828b7d475af4695d7c8e457a", "57e4361de784dd70a02ed08324582262fa0c10f2"),
]
# ... and a repository built from successive click releases (held).
CLICK_RELEASES = ["8.1.3", "8.1.5", "8.1.7", "8.1.8", "8.2.0", "8.2.1"]
# ... and one of successive packaging releases (dev, added later).
PACKAGING_RELEASES = ["22.0", "23.0", "23.1", "23.2", "24.0", "24.1", "24.2"]
# ... and of jinja2's (dev, added in the sixth round).
JINJA2_RELEASES = ["3.0.3", "3.1.0", "3.1.2", "3.1.3", "3.1.4", "3.1.5", "3.1.6"]
# ... and of itsdangerous's and cachetools's (dev, added in the seventh round).
ITSDANGEROUS_RELEASES = ["2.0.0", "2.0.1", "2.1.0", "2.1.1", "2.1.2", "2.2.0"]
CACHETOOLS_RELEASES = ["4.2.4", "5.0.0", "5.2.0", "5.3.0", "5.4.0", "5.5.0", "5.5.2"]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "release-importer",
    "GIT_AUTHOR_EMAIL": "importer@localhost",
    "GIT_COMMITTER_NAME": "release-importer",
    "GIT_COMMITTER_EMAIL": "importer@localhost",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
}


def git_env(date: str | None = None) -> dict:
    e = env_for(extra=GIT_ENV)
    e["HOME"] = str(SCRATCH / "githome")
    (SCRATCH / "githome").mkdir(parents=True, exist_ok=True)
    if date:
        e["GIT_AUTHOR_DATE"] = date
        e["GIT_COMMITTER_DATE"] = date
    return e


def release_repo(name: str = "click", versions=CLICK_RELEASES) -> Path:
    repo = SCRATCH / "git" / f"{name}-releases"
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], repo, git_env())
    for n, ver in enumerate(versions):
        for p in sorted(repo.iterdir()):
            if p.name != ".git":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        sd = sdist_for_version(name, ver)
        with tarfile.open(sd) as tf:
            tmp = SCRATCH / "git" / "tmp"
            if tmp.exists():
                shutil.rmtree(tmp)
            tf.extractall(tmp, filter="data")
            top = sorted(tmp.iterdir())[0]
            for p in sorted(top.iterdir()):
                if p.name != "PKG-INFO":
                    shutil.move(str(p), repo / p.name)
        date = f"2024-01-{n + 1:02d}T12:00:00+00:00"
        run(["git", "add", "-A", "."], repo, git_env(date))
        out, rc = run(["git", "commit", "-q", "-m", f"Import {name} {ver} release", "-m", f"Unpacked from the {name}-{ver} sdist."], repo, git_env(date))
        assert rc == 0, out
        run(["git", "tag", f"{ver}"], repo, git_env(date))
    return repo


def sdist_for_version(name: str, ver: str) -> Path:
    dl = SCRATCH / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    for f in sorted(dl.iterdir()):
        if f.name.lower() == f"{name}-{ver}.tar.gz":
            return f
    check([PY, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", str(dl), f"{name}=={ver}"])
    return sdist_for_version(name, ver)


def gitlog_cases(repo: Path, ranges, split, source, start_k=0):
    k = start_k
    for a, b in ranges:
        cmd = ["git", "log", "--stat", f"{a}..{b}"]
        out, rc = run(cmd, repo, git_env())
        assert rc == 0, out
        # commits and the files each touched
        commits = []
        for l in out.split("\n"):
            m = re.match(r"^commit ([0-9a-f]{40})$", l)
            if m:
                commits.append({"head": l, "subject": None, "files": []})
            elif commits and commits[-1]["subject"] is None and l.startswith("    ") and l.strip():
                commits[-1]["subject"] = l
            else:
                fm = re.match(r"^ (\S.*?)\s+\|\s+(\d+|Bin)", l)
                if fm and commits:
                    commits[-1]["files"].append(fm.group(1).strip())
        touched: dict[str, int] = {}
        for c in commits:
            for f in set(c["files"]):
                touched[f] = touched.get(f, 0) + 1
        unique = sorted(f for f, n in touched.items() if n == 1 and "..." not in f and not f.startswith("eval/"))
        if not unique or len(commits) < 3:
            continue
        # a file in the middle of the sorted list, touched by a single commit
        f = unique[len(unique) // 2]
        c = next(c for c in commits if f in c["files"])
        task = [
            f"Which commit in this range changed {f}? Give me its hash and subject.",
            f"Find the commit that touched {f} and tell me what it was about.",
        ][k % 2]
        add_case(
            id=f"git-log/{source}-{a[:7]}-{b[:7]}",
            kind="git-log",
            split=split,
            source=source,
            task=task,
            assistant="Let me look at the history.",
            command=" ".join(cmd),
            output=out,
            gold=[c["head"], c["subject"]],
        )
        k += 1


def gitdiff_cases(repo: Path, ranges, split, source, path_filter, start_k=0):
    k = start_k
    for a, b in ranges:
        cmd = ["git", "diff", a, b, "--", path_filter]
        out, rc = run(cmd, repo, git_env())
        assert rc == 0, out
        lines = out.split("\n")
        hunks = []  # (diff --git line, @@ line, changed lines)
        cur_file = None
        for i, l in enumerate(lines):
            if l.startswith("diff --git "):
                cur_file = l
            elif l.startswith("@@ ") and cur_file:
                m = re.search(r"@@ .*?@@ .*\bfn ([A-Za-z_]\w*)|@@ .*?@@ \s*(?:async )?def ([A-Za-z_]\w*)", l)
                changed = []
                j = i + 1
                while j < len(lines) and not lines[j].startswith("@@ ") and not lines[j].startswith("diff --git "):
                    if lines[j][:1] in "+-" and not lines[j].startswith(("+++", "---")):
                        changed.append(lines[j])
                    j += 1
                if m and changed:
                    hunks.append((cur_file, l, changed, m.group(1) or m.group(2)))
        if len(lines) < 40 or not hunks:
            continue
        # the hunk whose function appears in exactly one hunk header; the middle one
        names = [h[3] for h in hunks]
        cands = [h for h in hunks if names.count(h[3]) == 1 and 2 <= len(h[2])]
        if not cands:
            continue
        h = cands[len(cands) // 2]
        fpath = h[0].split(" b/", 1)[1]
        gold = [h[0], h[1]] + [c for c in h[2] if c.strip() not in ("+", "-")][:13]
        task = [
            f"What changed in the function {h[3]} in {fpath} between these two revisions?",
            f"Summarize how {h[3]} ({fpath}) was modified in this diff.",
        ][k % 2]
        add_case(
            id=f"git-diff/{source}-{a[:7]}-{b[:7]}",
            kind="git-diff",
            split=split,
            source=source,
            task=task,
            assistant="I'll diff the two revisions.",
            command=" ".join(cmd),
            output=out,
            gold=gold,
        )
        k += 1


def gen_git():
    # dev: a fresh clone of this repository's own history (fixed SHAs)
    clone = SCRATCH / "git" / "pith"
    if clone.exists():
        shutil.rmtree(clone)
    clone.parent.mkdir(parents=True, exist_ok=True)
    out, rc = run(["git", "clone", "-q", "--no-checkout", str(REPO), str(clone)], SCRATCH, git_env())
    assert rc == 0, out
    gitlog_cases(clone, PITH_RANGES, "dev", "pith")
    diff_ranges = [(PITH_RANGES[i][0], PITH_RANGES[i + 1][1]) for i in range(0, len(PITH_RANGES) - 1)]
    gitdiff_cases(clone, diff_ranges, "dev", "pith", "src/")
    # held: click releases as commits
    repo = release_repo()
    shas = run(["git", "rev-list", "--reverse", "HEAD"], repo, git_env())[0].split()
    gitlog_cases(repo, [(shas[0], shas[3]), (shas[2], shas[5])], "held", "click-releases")
    gitdiff_cases(repo, [(shas[0], shas[2]), (shas[2], shas[4]), (shas[4], shas[5])], "held", "click-releases", "src/click/")
    # dev, added later: packaging releases as commits
    repo = release_repo("packaging", PACKAGING_RELEASES)
    shas = run(["git", "rev-list", "--reverse", "HEAD"], repo, git_env())[0].split()
    gitlog_cases(repo, [(shas[0], shas[3]), (shas[2], shas[5]), (shas[3], shas[6])], "dev", "packaging-releases")
    gitdiff_cases(repo, [(shas[0], shas[2]), (shas[2], shas[4]), (shas[4], shas[6])], "dev", "packaging-releases", "src/packaging/")
    # dev, added in the sixth round: jinja2 releases as commits
    repo = release_repo("jinja2", JINJA2_RELEASES)
    shas = run(["git", "rev-list", "--reverse", "HEAD"], repo, git_env())[0].split()
    gitdiff_cases(repo, [(shas[0], shas[1]), (shas[1], shas[3]), (shas[3], shas[6])], "dev", "jinja2-releases", "src/jinja2/")
    # dev, added in the seventh round: itsdangerous and cachetools releases as commits
    repo = release_repo("itsdangerous", ITSDANGEROUS_RELEASES)
    shas = run(["git", "rev-list", "--reverse", "HEAD"], repo, git_env())[0].split()
    gitdiff_cases(repo, [(shas[0], shas[2]), (shas[2], shas[5])], "dev", "itsdangerous-releases", "src/itsdangerous/")
    repo = release_repo("cachetools", CACHETOOLS_RELEASES)
    shas = run(["git", "rev-list", "--reverse", "HEAD"], repo, git_env())[0].split()
    gitdiff_cases(repo, [(shas[0], shas[1]), (shas[1], shas[4]), (shas[4], shas[6])], "dev", "cachetools-releases", "src/cachetools/")


# --------------------------------------------------------------------------
# Kind: listing
# --------------------------------------------------------------------------

LISTING_SOURCES = [
    ("click", "dev"),
    ("rich", "dev"),
    ("crate:regex-automata-0.4.19", "dev"),
    ("jinja2", "dev"),
    ("flask", "held"),
    ("requests", "held"),
    ("crate:tokio-1.54.1", "held"),
    # added later (dev): Go and JavaScript
    ("deb:golang-github-spf13-cobra-dev:usr/share/gocode/src/github.com/spf13/cobra", "dev"),
    ("npm:luxon@3.5.0", "dev"),
]


def gen_listing():
    parent = SCRATCH / "listsrc"
    for k, (spec, split) in enumerate(LISTING_SOURCES):
        root, src_name = source_root(spec, parent)
        rust = spec.startswith("crate:")
        ext = ".rs" if rust else ".go" if "golang" in spec else ".js" if spec.startswith("npm:") else ".py"
        files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        base_count: dict[str, int] = {}
        for f in files:
            b = f.rsplit("/", 1)[-1]
            base_count[b] = base_count.get(b, 0) + 1
        cands = [
            f for f in files
            if f.endswith(ext) and base_count[f.rsplit("/", 1)[-1]] == 1 and "/" in f
            and not f.rsplit("/", 1)[-1].startswith(("_", "mod.", "lib.", "main."))
        ]
        assert cands, spec
        for mode in ("find", "ls"):
            f = cands[(len(cands) * (1 if mode == "find" else 2)) // 3]
            stem = f.rsplit("/", 1)[-1][: -len(ext)]
            is_test = "test" in f.split("/")[0] or stem.startswith("test_") or stem.endswith("_test")
            if mode == "find":
                cmd = "find . -type f | sort"
                out, rc = run(["sh", "-c", cmd], root, env_for())
                gold = [f"./{f}"]
            else:
                cmd = "ls -R"
                out, rc = run(["ls", "-R"], root, env_for())
                d, b = f.rsplit("/", 1)
                gold = [f"./{d}:", b]
            assert rc == 0, out
            what = stem[len("test_"):] if stem.startswith("test_") else stem.removesuffix("_test")
            if is_test:
                task = f"Where are the tests for `{what}`? Give me the file path."
            else:
                task = f"Which file implements the `{what}` module? I need its path."
            add_case(
                id=f"listing/{src_name}-{mode}",
                kind="listing",
                split=split,
                source=src_name,
                task=task,
                assistant="Let me list the files.",
                command=cmd,
                output=out,
                gold=gold,
            )


# --------------------------------------------------------------------------
# Kind: html (HTML documentation shipped in Debian doc packages, as text)
# --------------------------------------------------------------------------

DEBS = {
    "python3.11-doc": "3.11.2-6+deb12u9",
    "git-doc": "1:2.39.5-0+deb12u3",
    "ffmpeg-doc": "7:5.1.9-0+deb12u1",
    "bash-doc": "5.2.15-2",
    "rust-doc": "1.63.0+dfsg1-2",
    "nodejs-doc": "18.20.4+dfsg-1~deb12u3",
    # tig's manual pages (asciidoc, like git's); added in the seventh round
    "tig": "2.5.5-1",
    # Go sources for grep and listings (not a docs page)
    "golang-github-spf13-cobra-dev": "1.6.1-1",
    # Go's toolchain, its sources and libraries for go-test; added in the ninth round
    "golang-1.19-go": "1.19.8-2",
    "golang-1.19-src": "1.19.8-2",
    "golang-github-dustin-go-humanize-dev": "1.0.0-3",
    "golang-github-hashicorp-go-version-dev": "1.3.0-1",
    "golang-github-masterminds-semver-dev": "3.2.0-1",
    "golang-github-blang-semver-dev": "4.0.0-1",
}
HTML_PAGES = [
    # (deb, page under /usr/share/doc/..., split, converter)
    ("python3.11-doc", "usr/share/doc/python3.11/html/library/json.html", "dev", "w3m"),
    ("python3.11-doc", "usr/share/doc/python3.11/html/library/shutil.html", "dev", "html2text"),
    ("python3.11-doc", "usr/share/doc/python3.11/html/library/subprocess.html", "dev", "w3m"),
    ("python3.11-doc", "usr/share/doc/python3.11/html/library/pathlib.html", "dev", "html2text"),
    ("python3.11-doc", "usr/share/doc/python3.11/html/library/itertools.html", "dev", "w3m"),
    ("python3.11-doc", "usr/share/doc/python3.11/html/library/logging.html", "dev", "html2text"),
    ("git-doc", "usr/share/doc/git-doc/git-log.html", "held", "w3m"),
    ("git-doc", "usr/share/doc/git-doc/git-rebase.html", "held", "html2text"),
    ("git-doc", "usr/share/doc/git-doc/git-worktree.html", "held", "w3m"),
    ("git-doc", "usr/share/doc/git-doc/git-bisect.html", "held", "html2text"),
    # added later, after the held pages so that their picks (by index) stay as they were
    ("ffmpeg-doc", "usr/share/doc/ffmpeg/manual/ffmpeg.html", "dev", "w3m"),
    ("ffmpeg-doc", "usr/share/doc/ffmpeg/manual/ffprobe.html", "dev", "html2text"),
    ("ffmpeg-doc", "usr/share/doc/ffmpeg/manual/ffplay.html", "dev", "w3m"),
    ("ffmpeg-doc", "usr/share/doc/ffmpeg/manual/ffmpeg-formats.html", "dev", "html2text"),
    ("ffmpeg-doc", "usr/share/doc/ffmpeg/manual/ffmpeg-codecs.html", "dev", "w3m"),
    ("bash-doc", "usr/share/doc/bash/bash.html", "dev", "w3m"),
    ("rust-doc", "usr/share/doc/rust-doc/html/std/primitive.slice.html", "dev", "w3m"),
    ("rust-doc", "usr/share/doc/rust-doc/html/std/option/enum.Option.html", "dev", "html2text"),
    ("rust-doc", "usr/share/doc/rust-doc/html/std/vec/struct.Vec.html", "dev", "w3m"),
    ("nodejs-doc", "usr/share/doc/nodejs/api/path.html", "dev", "w3m"),
    ("nodejs-doc", "usr/share/doc/nodejs/api/url.html", "dev", "html2text"),
    ("nodejs-doc", "usr/share/doc/nodejs/api/events.html", "dev", "w3m"),
    ("tig", "usr/share/doc/tig/tigrc.5.html", "dev", "w3m"),
    ("tig", "usr/share/doc/tig/tigrc.5.html", "dev", "html2text"),
]


def deb_file(pkg: str) -> Path:
    """The pinned package file of `pkg`, downloaded once."""
    ddir = SCRATCH / "deb"
    ddir.mkdir(parents=True, exist_ok=True)
    ver = DEBS[pkg]
    # documentation packages are `_all`; a program's (tig) is of this machine's arch
    stem = f"{pkg}_{ver.replace(':', '%3a')}_"
    found = [f for f in sorted(ddir.iterdir()) if f.name.startswith(stem) and f.suffix == ".deb"]
    if not found:
        check(["apt-get", "download", f"{pkg}={ver}"], cwd=ddir)
        found = [f for f in sorted(ddir.iterdir()) if f.name.startswith(stem) and f.suffix == ".deb"]
    return found[0]


def unpack_deb(pkg: str) -> Path:
    root = SCRATCH / "deb" / pkg
    if not root.exists():
        check(["dpkg-deb", "-x", str(deb_file(pkg)), str(root)])
    return root


def pick(n: int, k: int) -> int:
    """Which of n candidates a page's pick k takes: the first ten pages by their index
    (k >= 0), the later pages' three picks (k = -1, -2, -3) a sixth, a half and five
    sixths of the way in."""
    return (n * (k + 1)) // (k + 3) if k >= 0 else (n * (-2 * k - 1)) // 6


def entry_gold(lines: list[str], first: int, after: int, stop=lambda line: False) -> list[str]:
    """An entry's gold: its line `first`, then its description's first lines — from the
    first non-blank line after line `after` to a blank line or one `stop` matches, five
    at most."""
    gold = [lines[first]]
    j = after + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    while j < len(lines) and lines[j].strip() and not stop(lines[j]) and len(gold) < 6:
        gold.append(lines[j])
        j += 1
    return gold


def html_gold_python(out: str, k: int):
    """A documented callable: its signature line (w3m may wrap it; the first
    line is taken) and the first lines of its description."""
    lines = out.split("\n")
    sigs = []
    for i, l in enumerate(lines):
        m = re.match(r"^(?:class )?(?:[A-Za-z_]\w*\.)*([a-z_][a-z0-9_]*)\(", l)
        if not m or len(l) > 200:
            continue
        end = next((j for j in range(i, min(i + 3, len(lines))) if lines[j].rstrip().endswith("¶")), None)
        if end is not None:
            sigs.append((i, end, m.group(1)))
    names = [n for _, _, n in sigs]
    sigs = [s for s in sigs if names.count(s[2]) == 1]
    if not sigs:
        return None, None
    i, end, name = sigs[pick(len(sigs), k)]
    return name, entry_gold(lines, i, end)


# Term lines of a manual's options, per package: git's `--opt[=<x>]` at the margin,
# ffmpeg's `-opt[:spec] arg (input/output)` at the margin, bash's indented `--opt [arg]`.
RE_OPTION_TERM = {
    "git-doc": re.compile(r"^\\?(--[a-z][a-z0-9-]+)(\[?=<[^>]+>\]?| <[^>]+>)?(, -\S+)?$"),
    "ffmpeg-doc": re.compile(r"^(-[a-z][a-z0-9_]+)(\[[^\]]*\])?( [a-z_]+)?( \([a-z/,-]+\))?$"),
    "bash-doc": re.compile(r"^ {20}(--[a-z][a-z0-9-]+)( [a-z]+)?$"),
    # a tigrc variable: `diff-options (string)`, `_commit-order_ (enum) [auto|…]`
    "tig": re.compile(r"^_?([a-z][a-z0-9-]+)_? \((?:bool|int|string|mixed|enum|list|args)\)( \[[^\]]*\])?$"),
}


def html_gold_option(out: str, k: int, pkg: str):
    """A command-line option: its term line and the first lines of its description (up
    to a blank line or the next term)."""
    term = RE_OPTION_TERM[pkg]
    lines = out.split("\n")
    opts = []
    for i, l in enumerate(lines):
        m = term.match(l)
        if m:
            opts.append((i, m.group(1)))
    names = [n for _, n in opts]
    opts = [o for o in opts if names.count(o[1]) == 1]
    if pkg != "git-doc":  # (git's picks were made before this rule, among all its terms)
        # a term that is the bare name would be in the task verbatim: those with an argument
        opts = [o for o in opts if lines[o[0]].strip() != o[1]]
    if not opts:
        return None, None
    i, name = opts[pick(len(opts), k)]
    gold = entry_gold(lines, i, i, term.match)
    if len(gold) == 1:
        return None, None
    return name, gold


RE_RUST_SIG = re.compile(r"^(?:#+ )?pub (?:const )?(?:unsafe )?fn ([a-z_0-9]+)[<(]")


def pick_signature(lines: list[str], pattern: re.Pattern, k: int):
    """Pick k (see `pick`) among the lines `pattern` matches whose name (its group 1) no
    other matched line has: (line, name)."""
    sigs = [(i, m.group(1)) for i, l in enumerate(lines) if (m := pattern.match(l))]
    names = [n for _, n in sigs]
    sigs = [s for s in sigs if names.count(s[1]) == 1]
    return sigs[pick(len(sigs), k)] if sigs else (None, None)


def html_gold_rust(out: str, k: int):
    """A rustdoc method: its signature line and the first lines of its description."""
    lines = out.split("\n")
    i, name = pick_signature(lines, RE_RUST_SIG, k)
    if name is None:
        return None, None
    gold = entry_gold(lines, i, i)
    return name, gold if len(gold) > 1 else None


# Node's API docs: `path.dirname(path)#` (w3m), `#### `url.pathToFileURL(path)`#` (html2text).
RE_NODE_SIG = re.compile(r"^(?:#+ )?`?(?:[a-z]\w*\.)+([a-zA-Z_]\w+)\([^)]*\)`?#$")
NODE_META = ("History", "Version", "Added in", "Stability", "Deprecated", "Type:", "Returns:")


def html_gold_node(out: str, k: int):
    """A Node API entry: its signature line and the first paragraph of prose after it
    (past the history table, the "Added in" line and the parameter list)."""
    lines = out.split("\n")
    i, name = pick_signature(lines, RE_NODE_SIG, k)
    if name is None:
        return None, None
    j = i + 1
    while j < min(len(lines), i + 40):
        l, t = lines[j], lines[j].strip()
        if l.endswith("#"):  # the next entry or heading: no prose of its own
            return name, None
        if (t and not l.startswith(" ") and not t.startswith(NODE_META) and not re.match(r"^v\d", t)
                and t[0].isupper() and len(t.split()) >= 4):
            break
        j += 1
    else:
        return name, None
    gold = [lines[i]]
    while j < len(lines) and lines[j].strip() and len(gold) < 5:
        gold.append(lines[j])
        j += 1
    return name, gold


def gen_html():
    v = venv("tools")
    # The first ten pages give one case each (picked by the page's index); the pages added
    # later give three each, spread over the page.
    picks = [(k, page) for k, page in enumerate(HTML_PAGES[:10])]
    picks += [(-p, page) for page in HTML_PAGES[10:] for p in (1, 2, 3)]
    for k, (pkg, page, split, conv) in picks:
        root = unpack_deb(pkg)
        f = root / page
        html_dir = f.parent
        if conv == "w3m":
            cmd = ["w3m", "-dump", "-cols", "100", "-T", "text/html", f.name]
        else:
            cmd = ["python", "-m", "html2text", f.name]
        # a UTF-8 locale, else w3m prints "?" for the pilcrows and dashes
        out, rc = run(cmd, html_dir, env_for(v, {"PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}))
        assert rc == 0, out
        if pkg in RE_OPTION_TERM:
            name, gold = html_gold_option(out, k, pkg)
            task = f"What does the {name} option of {f.stem} do?"
        elif pkg == "nodejs-doc":
            name, gold = html_gold_node(out, k)
            sig = gold[0] if gold else ""
            call = sig.lstrip("#` ").split("(", 1)[0]
            task = f"What does {call}() do in Node.js? Check the docs."
        elif pkg == "rust-doc":
            name, gold = html_gold_rust(out, k)
            owner = f.stem.split(".", 1)[1]  # primitive.slice, struct.String
            task = f"What does {owner}::{name} do, according to the Rust docs?"
        else:
            name, gold = html_gold_python(out, k)
            mod = f.stem
            task = f"According to the docs, what does {mod}'s {name}() do and what arguments does it take?"
        # a page of three picks names each case after its entry
        id = f"html/{pkg}-{f.stem}-{conv}" + (f"-{(name or '').lstrip('-')}" if k < 0 else "")
        if not gold or any(c["id"] == id for c in CASES):  # none, or a page with few terms
            log(f"!! SKIPPED html {page} ({k})")
            continue
        add_case(
            id=id,
            kind="html",
            split=split,
            source=f"{pkg}_{DEBS[pkg]}",
            task=task,
            assistant="I'll read the local documentation page.",
            command=" ".join(cmd),
            output=out,
            gold=gold,
        )


# --------------------------------------------------------------------------
# Kinds: gcc and tsc (added in the twelfth round): C and TypeScript compilers on real
# sources built with strict warnings, so that a change's few new diagnostics sit among
# many the code had before
# --------------------------------------------------------------------------


def new_diagnostics(base: str, out: str, pattern: re.Pattern) -> list[str]:
    """What a change added: the diagnostic lines (`pattern`) of `out` that the run before
    it (`base`) did not print, each once, at most GOLD_CAP."""
    before = set(base.split("\n"))
    return list(dict.fromkeys(l for l in out.split("\n") if l not in before and pattern.match(l)))[:GOLD_CAP]


def report_gold(groups, base_groups, in_focus, final: list[str]) -> list[str]:
    """Gold of a linter's report whose diagnostics are groups of lines (ruff's head and
    places, ESLint's path and problem line): the groups `in_focus` keeps when a task asks
    about one file, else what the change added (the groups the run before it did not
    print); each line once, at most GOLD_CAP with the report's last closing line."""
    if in_focus:
        chosen = [g for g in groups if in_focus(g)]
    else:
        before = set(base_groups)
        chosen = [g for g in groups if g not in before]
    return list(dict.fromkeys(l for g in chosen for l in g))[: GOLD_CAP - 1] + final[-1:]


# The warnings a project with strict C flags turns on.
GCC_FLAGS = ["-fsyntax-only", "-Wall", "-Wextra", "-Wconversion", "-Wsign-conversion", "-Wshadow",
             "-Wcast-qual"]
# sdist: (split, include dirs, source globs)
GCC_PROJECTS = {
    "brotli": ("dev", ["c/include"], ["c/common/*.c", "c/dec/*.c", "c/enc/*.c"]),
    "lz4": ("dev", [], ["lz4libs/lz4.c", "lz4libs/lz4hc.c", "lz4libs/lz4frame.c", "lz4libs/xxhash.c"]),
    "ujson": ("held", ["lib"], ["lib/ultrajsonenc.c", "lib/ultrajsondec.c"]),
}
# (sdist, tag, file, old, new, story)
GCC_BUGS = [
    ("brotli", "ring-buffer-args", "c/dec/decode.c", "        BrotliCalculateRingBufferSize(s);",
     "        BrotliCalculateRingBufferSize(s, s->window_bits);",
     "I made Brotli's decoder size its ring buffer from the window bits"),
    ("brotli", "guard-rename", "c/dec/bit_reader.h",
     '  const uint8_t* guard_in; /* position from which "fast-path" is prohibited */',
     '  const uint8_t* guard; /* position from which "fast-path" is prohibited */',
     "I renamed a field of Brotli's bit reader"),
    ("lz4", "count-back", "lz4libs/lz4hc.c",
     "int const back = lookBackLength ? LZ4HC_countBack(ip, matchPtr, iLowLimit, prefixPtr) : 0;",
     "int const back = lookBackLength ? LZ4HC_countBack(ip, matchPtr, iLowLimit) : 0;",
     "I simplified how lz4's HC match finder counts back"),
    ("brotli", "cleanup-pointer", "c/enc/encode.c", "    BrotliEncoderCleanupState(state);",
     "    BrotliEncoderCleanupState(&state);",
     "I changed how Brotli's encoder frees its state"),
    ("lz4", "bound-prefs", "lz4libs/lz4frame.c",
     "        return LZ4F_compressBound_internal(srcSize, preferencesPtr, 0);",
     "        return LZ4F_compressBound_internal(srcSize, *preferencesPtr, 0);",
     "I touched how lz4frame computes its compress bound"),
    ("lz4", "mem-init-macro", "lz4libs/lz4frame.c", "#  define MEM_INIT(p,v,s)   memset((p),(v),(s))",
     "#  define MEM_INIT(p,v,s)   memset((p),(s))",
     "I tidied the MEM_INIT macro in lz4frame"),
    ("brotli", "context-lut-macro", "c/common/context.h",
     "#define BROTLI_CONTEXT_LUT(MODE) (&_kBrotliContextLookupTable[(MODE) << 9])",
     "#define BROTLI_CONTEXT_LUT(MODE) (&kBrotliContextLookupTable[(MODE) << 9])",
     "I renamed the context lookup table Brotli's BROTLI_CONTEXT_LUT macro reads"),
    ("ujson", "escape-args", "lib/ultrajsonenc.c",
     "        if (!Buffer_EscapeStringValidated(obj, enc, value, value + szlen))",
     "        if (!Buffer_EscapeStringValidated(enc, value, value + szlen))",
     "I cleaned up the arguments of ujson's string escaping in the encoder"),
    ("ujson", "decode-any", "lib/ultrajsondec.c", "  ret = decode_any (&ds);", "  ret = decode_any (ds);",
     "I touched how ujson's decoder starts decoding"),
    ("ujson", "reserve-macro", "lib/ultrajsonenc.c", "      Buffer_Realloc((__enc), (__len));\\",
     "      Buffer_Realloc((__enc));\\",
     "I simplified the Buffer_Reserve macro in ujson's encoder"),
]
GCC_TASKS = [
    "{story}. Now the build is broken, can you compile it and tell me why?",
    "{story}. Does it still compile? Build it and fix whatever broke.",
]
RE_GCC_LINE = re.compile(r"^\S+:\d+:\d+: (error|warning|note): ")


def gen_gcc():
    work = SCRATCH / "gcc"
    # other versions word, quote and note differently: the committed cases are gcc 12.2.0's
    log(check(["gcc", "--version"]).splitlines()[0])
    for k, (proj, tag, rel, old, new, story) in enumerate(GCC_BUGS):
        split, includes, globs = GCC_PROJECTS[proj]
        root = unpack(proj, work)
        files = [str(p.relative_to(root)) for g in globs for p in sorted(root.glob(g))]
        args = [*GCC_FLAGS, *(f"-I{i}" for i in includes)]
        base, _ = run(["gcc", *args, *files], root, env_for())
        replace_once(root / rel, old, new)
        out, rc = run(["gcc", *args, *files], root, env_for())
        log(f"gcc {proj}/{tag}: rc={rc}")
        gold = new_diagnostics(base, out, RE_GCC_LINE)
        # a change may only warn (gcc still compiles it): the new warning is the answer
        assert gold and (rc != 0 or not any(": error: " in g for g in gold)), out[-2000:]
        add_case(
            id=f"gcc/{proj}-{tag}",
            kind="gcc",
            split=split,
            source=root.name,
            task=GCC_TASKS[k % 2].format(story=story),
            assistant=["Compiling with the project's warning flags.", ""][k % 2],
            command=" ".join(["gcc", *args, *globs]),
            output=out,
            gold=gold,
        )


TSC_TOOLS = ["typescript@5.9.3"]
# The flags a project tightening its types turns on, past `strict`.
TSC_FLAGS = ["--noUnusedLocals", "--noUnusedParameters", "--noImplicitReturns",
             "--noUncheckedIndexedAccess", "--exactOptionalPropertyTypes",
             "--noPropertyAccessFromIndexSignature", "--noImplicitOverride"]
# npm package: (split, its own tsconfig or None). Without one the sources are checked with
# `strict` on and the target and libraries they need.
TSC_PROJECTS = {
    "rxjs@7.8.2": ("dev", "src/tsconfig.base.json"),
    "immer@10.1.1": ("dev", None),
    "mobx@6.13.5": ("held", None),
}
TSC_OWN_CONFIG = {
    "compilerOptions": {"strict": True, "noEmit": True, "target": "es2020", "lib": ["es2020", "dom"],
                        "moduleResolution": "node"},
    "include": ["src"],
}
# (package, tag, focus file or None, bug (file, old, new) or None, story)
TSC_CASES = [
    ("rxjs@7.8.2", "map-index", None,
     ("src/internal/operators/map.ts", "project.call(thisArg, value, index++)",
      "project.call(thisArg, value, String(index++))"),
     "I made rxjs's map operator hand the index to the projection as a string"),
    ("rxjs@7.8.2", "observer-next", None,
     ("src/internal/types.ts", "  closed?: boolean;\n  next: (value: T) => void;",
      "  closed?: boolean;\n  nextValue: (value: T) => void;"),
     "I renamed the next callback of rxjs's NextObserver interface to nextValue"),
    ("rxjs@7.8.2", "subject", "src/internal/Subject.ts", None,
     "I'm turning on stricter compiler flags in rxjs, one file at a time"),
    ("rxjs@7.8.2", "pop-scheduler", None,
     ("src/internal/util/args.ts",
      "export function popScheduler(args: any[]): SchedulerLike | undefined {",
      "export function popScheduler(args: any[], strict: boolean): SchedulerLike | undefined {"),
     "I added a strict flag to rxjs's popScheduler helper"),
    ("immer@10.1.1", "proxy", "src/core/proxy.ts", None,
     "I'm turning on stricter compiler flags in immer, one file at a time"),
    ("immer@10.1.1", "draftable-deep", None,
     ("src/utils/common.ts", "export function isDraftable(value: any): boolean {",
      "export function isDraftable(value: any, deep: boolean): boolean {"),
     "I gave immer's isDraftable a deep flag"),
    ("mobx@6.13.5", "administration", None,
     ("src/types/type-utils.ts", "export function getAdministration(thing: any, property?: string) {",
      "export function getAdministration(thing: any, property: string) {"),
     "I made the property argument of mobx's getAdministration required"),
    ("mobx@6.13.5", "observableset", "src/types/observableset.ts", None,
     "I'm turning on stricter compiler flags in mobx, one file at a time"),
    ("mobx@6.13.5", "derivation", "src/core/derivation.ts", None,
     "I'm making mobx's core pass the stricter compiler flags"),
    # (fourteenth round) The same changed signatures, the task naming the file it changed:
    # its own old errors against the calls the change broke elsewhere.
    ("rxjs@7.8.2", "pop-scheduler-named", None,
     ("src/internal/util/args.ts",
      "export function popScheduler(args: any[]): SchedulerLike | undefined {",
      "export function popScheduler(args: any[], strict: boolean): SchedulerLike | undefined {"),
     "I added a strict flag to popScheduler in rxjs's src/internal/util/args.ts"),
    ("immer@10.1.1", "draftable-deep-named", None,
     ("src/utils/common.ts", "export function isDraftable(value: any): boolean {",
      "export function isDraftable(value: any, deep: boolean): boolean {"),
     "I gave isDraftable in immer's src/utils/common.ts a deep flag"),
    ("mobx@6.13.5", "administration-named", None,
     ("src/types/type-utils.ts", "export function getAdministration(thing: any, property?: string) {",
      "export function getAdministration(thing: any, property: string) {"),
     "I made the property argument of getAdministration in mobx's src/types/type-utils.ts required"),
]
TSC_TASKS = [
    "{story}. Run the type checker with the strict flags and tell me what it still reports for {focus}.",
    "{story}. Did that break the types? Run tsc with the strict flags and check.",
]
RE_TSC_LINE = re.compile(r"^\S+\(\d+,\d+\): error TS\d+: ")


def gen_tsc():
    work = SCRATCH / "tsc"
    tools = npm_tools("typescript", TSC_TOOLS)
    tsc = str(tools / "node_modules" / "typescript" / "bin" / "tsc")
    for k, (spec, tag, focus, bug, story) in enumerate(TSC_CASES):
        split, config = TSC_PROJECTS[spec]
        root = npm_unpack(spec, work)
        if config is None:
            config = "tsconfig.json"
            (root / config).write_text(json.dumps(TSC_OWN_CONFIG, indent=2) + "\n")
        args = ["-p", config, "--noEmit", *TSC_FLAGS]
        base, out, rc = before_and_after(["node", tsc, *args], root, env_for(), bug)
        log(f"tsc {spec}/{tag}: rc={rc}")
        if focus:
            gold = list(dict.fromkeys(l for l in out.split("\n") if l.startswith(focus + "(")))
            gold = gold[:GOLD_CAP]
        else:
            gold = new_diagnostics(base, out, RE_TSC_LINE)
        assert rc != 0 and gold, out[-2000:]
        add_case(
            id=f"tsc/{spec.replace('@', '-')}-{tag}",
            kind="tsc",
            split=split,
            source=spec.replace("@", "-"),
            task=TSC_TASKS[0 if focus else 1].format(story=story, focus=focus),
            assistant=["Running tsc.", ""][k % 2],
            command=" ".join(["npx", "tsc", *args]),
            output=out,
            gold=gold,
        )


# --------------------------------------------------------------------------
# Kind: vitest (added in the thirteenth round): `vitest run` on the TypeScript sources and
# tests zod ships in its npm package, with an injected bug. zod 4 carries two
# implementations: its v4 core with the classic API's tests (dev) and the older v3 with
# its own tests (held).
# --------------------------------------------------------------------------

VITEST_TOOLS = ["vitest@3.2.4"]
ZOD = "zod@4.1.12"
# split: (test folder, test files that need packages outside zod and vitest)
VITEST_SUITES = {
    "dev": ("src/v4/classic/tests", ["file", "to-json-schema", "datetime"]),
    "held": ("src/v3/tests", []),
}
VITEST_BUGS = [
    # (split, tag, file, old, new, story, reporter)
    ("dev", "max-length", "src/v4/core/checks.ts",
     "if (length <= def.maximum) return;", "if (length < def.maximum) return;",
     "I tightened zod's max length check", "default"),
    ("dev", "too-small-wording", "src/v4/locales/en.ts",
     "return `Too small: expected ${issue.origin} to have ${adj}",
     "return `Too small: expected ${issue.origin} to contain ${adj}",
     "I reworded zod's too-small error message", "default"),
    ("dev", "email-tld", "src/v4/core/regexes.ts",
     "[A-Za-z0-9\\-]*\\.)+[A-Za-z]{2,}$/;", "[A-Za-z0-9\\-]*\\.)+[A-Za-z]{3,}$/;",
     "I made zod's email regex stricter about top-level domains", "verbose"),
    ("dev", "float-remainder", "src/v4/core/util.ts",
     '  const valDecCount = (val.toString().split(".")[1] || "").length;',
     '  const valDecCount = val.toString().split(".")[1].length;',
     "I simplified zod's floatSafeRemainder helper", "default"),
    ("dev", "invalid-type-wording", "src/v4/locales/en.ts",
     "return `Invalid input: expected ${issue.expected}, received ${parsedType(issue.input)}`;",
     "return `Invalid input: expected ${issue.expected}, got ${parsedType(issue.input)}`;",
     "I shortened zod's invalid-type error message", "verbose"),
    ("dev", "shallow-clone", "src/v4/core/util.ts",
     "  if (Array.isArray(o)) return [...o];\n  return o;", "  return o;",
     "I cleaned up zod's shallowClone helper", "default"),
    ("held", "min-length", "src/v3/types.ts",
     '      if (check.kind === "min") {\n        if (input.data.length < check.value) {',
     '      if (check.kind === "min") {\n        if (input.data.length <= check.value) {',
     "I touched the min length check of zod's v3 strings", "default"),
    ("held", "invalid-type-wording", "src/v3/locales/en.ts",
     "message = `Expected ${issue.expected}, received ${issue.received}`;",
     "message = `Expected ${issue.expected}, got ${issue.received}`;",
     "I shortened the invalid-type message of zod v3", "verbose"),
    ("held", "join-values", "src/v3/helpers/util.ts",
     "(typeof val === \"string\" ? `'${val}'` : val)", "(typeof val === \"string\" ? `\"${val}\"` : val)",
     "I changed how zod v3 quotes the options it lists in messages", "default"),
]
VITEST_TASKS = [
    "{story}. Run the tests and fix whatever fails.",
    "{story}; can you run vitest and tell me what broke?",
    "{story} and now CI is red. Run the tests and figure out which ones fail and why.",
]
RE_VITEST_FAIL = re.compile(r"^ FAIL  \S+ > ")
RE_VITEST_AT = re.compile(r"^ ❯ .*\.test\.ts:\d+:\d+$")
RE_VITEST_FINAL = re.compile(r"^ +(Test Files|Tests) +\d+ failed\b")


def vitest_gold(out: str) -> list[str]:
    """Per failure (` FAIL  file > test`): that line, the error's first line under it and
    where in the test it failed (the last ` ❯ file.test.ts:L:C`); then the counts of
    failed files and tests."""
    lines = out.split("\n")
    gold: list[str] = []
    heads = [i for i, l in enumerate(lines) if RE_VITEST_FAIL.match(l)]
    for n, i in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(lines)
        block = lines[i + 1 : end]
        gold.append(lines[i])
        error = next((l for l in block if l.strip()), None)
        if error:
            gold.append(error)
        at = [l for l in block if RE_VITEST_AT.match(l)]
        if at:
            gold.append(at[-1])
    final = [l for l in lines if RE_VITEST_FINAL.match(l)]
    assert final, "no vitest counts"
    return list(dict.fromkeys(gold))[: GOLD_CAP - len(final)] + final


def gen_vitest():
    work = SCRATCH / "vitest"
    tools = npm_tools("vitest", VITEST_TOOLS)
    for k, (split, tag, rel, old, new, story, reporter) in enumerate(VITEST_BUGS):
        folder, skip = VITEST_SUITES[split]
        root = npm_unpack(ZOD, work)
        # The tests import zod by its name and the tools from node_modules: the tools'
        # packages are linked in, and zod's own name resolves to its TypeScript sources.
        modules = link_tools(root, tools)
        (modules / "zod").symlink_to(root)
        exclude = ", ".join(json.dumps(f"{folder}/{f}.test.ts") for f in skip)
        (root / "vitest.config.mjs").write_text(
            'import { configDefaults, defineConfig } from "vitest/config";\n'
            "export default defineConfig({\n"
            '  ssr: { resolve: { conditions: ["@zod/source"], externalConditions: ["@zod/source"] } },\n'
            f'  test: {{ include: ["{folder}/**/*.test.ts"], exclude: [...configDefaults.exclude, {exclude}] }},\n'
            "});\n")
        replace_once(root / rel, old, new)
        args = ["run"] + ([] if reporter == "default" else [f"--reporter={reporter}"])
        out, rc = run(["node", str(modules / "vitest" / "vitest.mjs"), *args], root, env_for())
        log(f"vitest {split}/{tag}: rc={rc}")
        assert rc != 0 and any(RE_VITEST_FAIL.match(l) for l in out.split("\n")), out[-3000:]
        add_case(
            id=f"vitest/zod-{'v4' if split == 'dev' else 'v3'}-{tag}",
            kind="vitest",
            split=split,
            source=ZOD.replace("@", "-"),
            task=VITEST_TASKS[k % len(VITEST_TASKS)].format(story=story),
            assistant=["I'll run the test suite.", ""][k % 2],
            command=" ".join(["npx", "vitest", *args]),
            output=out,
            gold=vitest_gold(out),
        )


# --------------------------------------------------------------------------
# Kind: ruff (added in the thirteenth round): `ruff check` with more rule sets than the
# projects choose, on the sdists' sources: a task about one file, or an injected change
# whose new diagnostics are the answer. Both of ruff's formats: its default (a code and
# message, then ` --> file:L:C` and the quoted source) and `--output-format concise`.
# --------------------------------------------------------------------------

RUFF_RULES = "E,F,W,B,SIM,RET,PL"
# (sdist, split, tag, folder checked, focus file or None, bug (file, old, new) or None,
#  concise, story)
RUFF_CASES = [
    ("click", "dev", "make-str", "src", None,
     ("src/click/utils.py", "def make_str(value: t.Any) -> str:", "def make_str(val: t.Any) -> str:"),
     False, "I renamed the parameter of click's make_str"),
    ("click", "dev", "termui", "src", "src/click/termui.py", None,
     False, "I'm cleaning up click's termui module"),
    ("flask", "dev", "cli", "src", "src/flask/cli.py", None,
     True, "I'm going through flask's CLI module before a release"),
    ("flask", "dev", "helpers-imports", "src", None,
     ("src/flask/helpers.py", "import os\n", ""),
     False, "I tidied the imports at the top of flask's helpers.py"),
    ("requests", "dev", "merge-setting", "src", None,
     ("src/requests/sessions.py",
      "    merged_setting = dict_class(to_key_val_list(session_setting))",
      "    merged = dict_class(to_key_val_list(session_setting))"),
     True, "I shortened a variable name in requests' merge_setting"),
    ("requests", "dev", "auth", "src", "src/requests/auth.py", None,
     False, "I want requests' auth module to pass our stricter lint rules"),
    ("rich", "held", "markdown", "rich", "rich/markdown.py", None,
     False, "I'm tightening the lint rules on rich's markdown module"),
    ("rich", "held", "cell-len", "rich", None,
     ("rich/cells.py", "def _cell_len(text: str, unicode_version: str) -> int:",
      "def _cell_len(string: str, unicode_version: str) -> int:"),
     True, "I renamed an argument of rich's _cell_len"),
]
RUFF_TASKS = [
    "{story}. Run ruff and tell me what it still reports for {focus}.",
    "{story}. Lint it with ruff and fix what is left in {focus}.",
    "{story}. Did that break anything? Run ruff and check.",
]
RE_RUFF_HEAD = re.compile(r"^[A-Z]+\d+ ")
RE_RUFF_PLACE = re.compile(r"^ *--> (\S+):\d+:\d+$")
RE_RUFF_CONCISE = re.compile(r"^(\S+):\d+:\d+: [A-Z]+\d+ ")
RE_RUFF_FINAL = re.compile(r"^Found \d+ errors?\.$")


def ruff_diagnostics(out: str) -> list[tuple[str, ...]]:
    """Each diagnostic's lines that say what and where: its head and ` --> ` line, or its
    one concise line."""
    lines = out.split("\n")
    diags = []
    for i, l in enumerate(lines):
        if RE_RUFF_CONCISE.match(l):
            diags.append((l,))
        elif RE_RUFF_HEAD.match(l) and i + 1 < len(lines) and RE_RUFF_PLACE.match(lines[i + 1]):
            diags.append((l, lines[i + 1]))
    return diags


def ruff_file(diag: tuple[str, ...]) -> str:
    m = RE_RUFF_CONCISE.match(diag[0]) or RE_RUFF_PLACE.match(diag[-1])
    return m.group(1)


def gen_ruff():
    v = venv("ruff")
    for k, (proj, split, tag, folder, focus, bug, concise, story) in enumerate(RUFF_CASES):
        root = unpack(proj, SCRATCH / "ruff")
        cmd = ["ruff", "check", "--isolated", "--no-cache", "--select", RUFF_RULES]
        cmd += ["--output-format", "concise"] if concise else []
        cmd += [folder]
        base, out, rc = before_and_after(cmd, root, env_for(v), bug)
        log(f"ruff {proj}/{tag}: rc={rc}")
        final = [l for l in out.split("\n") if RE_RUFF_FINAL.match(l)]
        assert rc != 0 and final, out[-2000:]
        gold = report_gold(ruff_diagnostics(out), ruff_diagnostics(base),
                           focus and (lambda d: ruff_file(d) == focus), final)
        assert len(gold) > 1, out[-2000:]
        add_case(
            id=f"ruff/{proj}-{tag}",
            kind="ruff",
            split=split,
            source=root.name,
            task=RUFF_TASKS[2 if bug else k % 2].format(story=story, focus=focus),
            assistant=["Running ruff.", ""][k % 2],
            command=" ".join(cmd),
            output=out,
            gold=gold,
        )


# --------------------------------------------------------------------------
# Kind: eslint (added in the thirteenth round): ESLint 9's default report (a file's path,
# then its `line:col  level  message  rule` lines) on npm packages' sources, with the
# recommended rules and a few stricter ones: a task about one file, or an injected
# change whose new problems are the answer.
# --------------------------------------------------------------------------

ESLINT_TOOLS = ["eslint@9.39.1", "@eslint/js@9.39.1", "globals@16.5.0"]
# npm package: (split, folder checked, module system)
ESLINT_PROJECTS = {
    "luxon@3.5.0": ("dev", "src", "module"),
    "commander@12.1.0": ("dev", "lib", "commonjs"),
    "qs@6.14.0": ("held", "lib", "commonjs"),
}
ESLINT_RULES = {
    "no-var": "error", "prefer-const": "error", "eqeqeq": "error", "no-console": "warn",
    "complexity": ["warn", 10], "max-depth": ["warn", 3], "no-param-reassign": "warn",
    "no-shadow": "warn",
}
# (package, tag, focus file or None, bug (file, old, new) or None, story)
ESLINT_CASES = [
    ("luxon@3.5.0", "duration", "src/duration.js", None,
     "I'm cleaning up luxon's Duration class"),
    ("luxon@3.5.0", "map-units", None,
     ("src/duration.js", "    const result = {};\n    for (const k of Object.keys(this.values)) {\n      result[k]",
      "    const mapped = {};\n    for (const k of Object.keys(this.values)) {\n      result[k]"),
     "I renamed a variable in luxon's Duration.mapUnits"),
    ("commander@12.1.0", "help", "lib/help.js", None,
     "I want commander's help module to pass our lint rules"),
    ("commander@12.1.0", "pad-width", None,
     ("lib/help.js", "  padWidth(cmd, helper) {\n    return Math.max(",
      "  padWidth(command, helper) {\n    return Math.max("),
     "I renamed the first parameter of commander's Help.padWidth"),
    ("luxon@3.5.0", "interval", "src/interval.js", None,
     "I'm tidying luxon's Interval class"),
    ("commander@12.1.0", "option-is", None,
     ("lib/option.js", "  is(arg) {\n    return this.short === arg || this.long === arg;",
      "  is(flag) {\n    return this.short === arg || this.long === arg;"),
     "I renamed the parameter of commander's Option.is"),
    ("qs@6.14.0", "stringify", "lib/stringify.js", None,
     "I'm going through qs's stringify module"),
    ("qs@6.14.0", "clean-str", None,
     ("lib/parse.js", "    var cleanStr = options.ignoreQueryPrefix ? str.replace(/^\\?/, '') : str;",
      "    var cleaned = options.ignoreQueryPrefix ? str.replace(/^\\?/, '') : str;"),
     "I renamed a variable in qs's parseValues"),
]
ESLINT_TASKS = [
    "{story}. Run eslint and tell me what it still reports for {focus}.",
    "{story}. Lint it and fix what eslint says about {focus}.",
    "{story}. Did that break anything? Run eslint and check.",
]
RE_ESLINT_LINE = re.compile(r"^ +\d+:\d+ +(error|warning) +")
RE_ESLINT_FINAL = re.compile(r"^✖ \d+ problems? \(")


def eslint_problems(out: str) -> list[tuple[str, str]]:
    """Each problem line with the file it is under (the path line above its block)."""
    problems, file = [], None
    for l in out.split("\n"):
        if l.startswith("/"):
            file = l
        elif RE_ESLINT_LINE.match(l) and file:
            problems.append((file, l))
    return problems


def gen_eslint():
    work = SCRATCH / "eslint"
    tools = npm_tools("eslint", ESLINT_TOOLS)
    for k, (spec, tag, focus, bug, story) in enumerate(ESLINT_CASES):
        split, folder, system = ESLINT_PROJECTS[spec]
        root = npm_unpack(spec, work)
        modules = link_tools(root, tools)
        (root / "eslint.config.mjs").write_text(
            'import js from "@eslint/js";\n'
            'import globals from "globals";\n'
            "export default [\n"
            "  js.configs.recommended,\n"
            f'  {{ languageOptions: {{ ecmaVersion: 2022, sourceType: "{system}", '
            "globals: { ...globals.browser, ...globals.node } },\n"
            f"    rules: {json.dumps(ESLINT_RULES)} }},\n"
            "];\n")
        cmd = ["node", str(modules / "eslint" / "bin" / "eslint.js"), folder]
        base, out, rc = before_and_after(cmd, root, env_for(), bug)
        log(f"eslint {spec}/{tag}: rc={rc}")
        final = [l for l in out.split("\n") if RE_ESLINT_FINAL.match(l)]
        assert rc != 0 and final, out[-2000:]
        gold = report_gold(eslint_problems(out), eslint_problems(base),
                           focus and (lambda p: p[0].endswith("/" + focus)), final)
        assert len(gold) > 2, out[-2000:]
        add_case(
            id=f"eslint/{spec.replace('@', '-')}-{tag}",
            kind="eslint",
            split=split,
            source=spec.replace("@", "-"),
            task=ESLINT_TASKS[2 if bug else k % 2].format(story=story, focus=focus),
            assistant=["Running eslint.", ""][k % 2],
            command=f"npx eslint {folder}",
            output=out,
            gold=gold,
        )


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

KINDS = {
    "pytest": gen_pytest,
    "unittest": gen_unittest,
    "cargo-test": gen_cargo_test,
    "rustc": gen_rustc,
    "traceback": gen_traceback,
    "grep": gen_grep,
    "json": gen_json,
    "json-netbox": gen_json_netbox,
    "git": gen_git,
    "listing": gen_listing,
    "html": gen_html,
    "mypy": gen_mypy,
    "tap": gen_tap,
    "go-test": gen_go_test,
    "gcc": gen_gcc,
    "tsc": gen_tsc,
    "vitest": gen_vitest,
    "ruff": gen_ruff,
    "eslint": gen_eslint,
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
    ap.add_argument("--merge", action="store_true",
                    help="with --only: add the generated cases whose ids are new to the committed files")
    ap.add_argument("--projects", default="",
                    help="comma-separated pytest/unittest projects to run (default: all)")
    a = ap.parse_args()
    PROJECTS.update(p for p in a.projects.split(",") if p)
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
    if a.merge:
        # Committed cases stay byte for byte as they are (a rerun would move the
        # durations they print); only cases with new ids are added.
        committed = []
        for split in ("dev", "held"):
            with gzip.open(OUT_DIR / f"{split}.jsonl.gz", "rt", encoding="utf-8") as fh:
                committed.extend(map(json.loads, fh))
        ids = {c["id"] for c in committed}
        CASES[:] = committed + [c for c in CASES if c["id"] not in ids]
    if a.merge or not only:
        write_outputs()


if __name__ == "__main__":
    main()
