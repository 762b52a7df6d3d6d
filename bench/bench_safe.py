"""Time cache.safe on adversarial HTML (100 KB and 1 MB: goal <= 0.25 s a MB, linear) and on
ordinary WordPress bodies (2,000 posts, 6,000 comments, as bench_sync converts them).

Run: .venv/bin/python bench/bench_safe.py [--module PATH] [--skip-slow S] [--only NAME] [--no-ordinary]
Prints one table. The ratio column is t(1 MB) / t(100 KB): about 10 means linear.
With --module PATH the same inputs are timed against another copy of safe.py (e.g. the
previous commit's, to compare before/after); an input that takes longer than --skip-slow
at 100 KB is not run at 1 MB.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ADVERSARIAL = {
    "unclosed <svg>": lambda n: "<svg>" * (n // 5),
    "unclosed <script>": lambda n: "<p>x</p>" + "<script>" * (n // 8),
    "nested <div>": lambda n: "<div>" * (n // 11) + "deep" + "</div>" * (n // 11),
    "nested <blockquote> + lines": lambda n: "<blockquote>" * 60 + "line<br>" * ((n - 720) // 8),
    "unclosed <div>": lambda n: "<div>" * (n // 5),
    "many '<'": lambda n: "<" * n,
    "'a<' pairs": lambda n: "a<" * (n // 2),
    "huge attribute": lambda n: "<p title='" + "a" * n + "'>x</p>",
    "unclosed quote": lambda n: '<a title="' * (n // 10),
    "unclosed comments": lambda n: "<!--" * (n // 4),
    "CDATA": lambda n: "<![CDATA[" * (n // 9),
    "entity flood &amp;": lambda n: "<p>" + "&amp;" * (n // 5) + "</p>",
    "entity flood &#": lambda n: "&#" * (n // 2),
    "smb:// links": lambda n: "<a href='smb://x'>y</a>" * (n // 23),
    "literal [x](y)": lambda n: "<p>" + "[a](b)" * (n // 6) + "</p>",
    "open brackets": lambda n: "<p>" + "[" * n + "</p>",
    "ESC flood": lambda n: "<p>" + "\x1b]" * (n // 2) + "</p>",
    "backticks": lambda n: "<p>" + "`a" * (n // 2) + "</p>",
}
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "it",
    "that",
    "was",
    "for",
    "on",
    "are",
    "with",
    "as",
    "his",
    "they",
    "at",
    "be",
    "this",
    "from",
    "have",
    "or",
    "by",
    "one",
    "had",
    "not",
    "but",
    "what",
    "all",
    "were",
    "when",
    "we",
    "there",
    "can",
    "an",
    "your",
    "which",
    "their",
    "said",
    "if",
    "do",
    "will",
    "each",
    "about",
    "how",
    "up",
    "out",
    "them",
    "then",
    "she",
    "many",
    "some",
    "so",
    "these",
    "would",
    "other",
    "into",
    "has",
    "more",
    "her",
    "two",
    "like",
    "him",
    "see",
    "time",
    "could",
    "make",
    "than",
    "first",
    "been",
    "its",
    "who",
    "now",
    "people",
    "my",
    "made",
    "over",
    "did",
    "down",
    "only",
    "way",
    "find",
    "use",
    "may",
    "water",
    "long",
    "little",
    "very",
    "after",
    "words",
    "called",
    "just",
    "where",
    "most",
    "know",
]


def ordinary(seed: int = 1) -> tuple[list[str], list[str]]:
    """Bodies shaped like the e2e seed's (tests/e2e/php/seed.php) and WordPress's comments."""
    rng = random.Random(seed)

    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))).capitalize() + "."

    def paragraph(n: int = 5) -> str:
        return " ".join(sentence() for _ in range(n))

    posts = []
    for i in range(2000):
        body = ""
        for j in range(8):
            k = rng.random()
            if k < 0.15:
                body += f"<h2>{sentence()[:-1]}</h2>\n"
            elif k < 0.25:
                body += "<ul>\n" + "".join(f"<li>{sentence()}</li>\n" for _ in range(3)) + "</ul>\n"
            elif k < 0.32:
                body += f"<blockquote><p>{sentence()}</p></blockquote>\n"
            else:
                body += (
                    f'<p>{paragraph()} It&#8217;s <a href="https://example.com/{i}/{j}">a link</a>'
                    f" and <em>emphasis</em>.</p>\n"
                )
        posts.append(body)
    comments = [
        f"<p>{paragraph(rng.randint(1, 3))}</p>\n"
        if rng.random() < 0.8
        else f"<p>{sentence()}<br />\n{sentence()}</p>\n<p>{sentence()}</p>\n"
        for _ in range(6000)
    ]
    return posts, comments


def load(path: str | None):
    if path is None:
        import cache.safe as module

        return module
    spec = importlib.util.spec_from_file_location("safe_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def convert_all(safe, bodies: list[str]) -> None:
    for body in bodies:
        safe.html_to_markdown(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", help="path of a safe.py to time instead of cache/safe.py")
    parser.add_argument("--skip-slow", type=float, default=2.0, help="seconds at 100 KB above which 1 MB is skipped")
    parser.add_argument("--only", default="", help="time only the adversarial inputs whose name contains this")
    parser.add_argument("--no-ordinary", action="store_true", help="skip the ordinary posts and comments")
    args = parser.parse_args()
    safe = load(args.module)
    safe.html_to_markdown("<p>warm up</p><h2>x</h2>")
    print(f"{'input':30} {'100 KB md':>10} {'1 MB md':>10} {'ratio':>6} {'1 MB line':>10}")
    worst = 0.0
    for name, make in ADVERSARIAL.items():
        if args.only not in name:
            continue
        small = timed(safe.html_to_markdown, make(100_000))
        if small > args.skip_slow:
            print(f"{name:30} {small:10.3f} {'skipped':>10}")
            continue
        big_html = make(1_000_000)
        big = min(timed(safe.html_to_markdown, big_html) for _ in range(2))
        line = timed(safe.html_to_line, big_html)
        worst = max(worst, big, line)
        print(f"{name:30} {small:10.4f} {big:10.4f} {big / max(small, 1e-6):6.1f} {line:10.4f}")
    print(f"worst 1 MB: {worst:.3f} s (goal <= 0.25 s)")
    if args.no_ordinary:
        return
    posts, comments = ordinary()
    for label, bodies in (("2,000 ordinary posts", posts), ("6,000 ordinary comments", comments)):
        runs = [timed(convert_all, safe, bodies) for _ in range(5)]
        print(f"{label:30} median {sorted(runs)[2]:.3f} s (best {min(runs):.3f})")


if __name__ == "__main__":
    main()
