#!/usr/bin/env python3
"""Finds the g++ 12 coroutine pitfall: a `co_await` inside a braced initializer or inside
a function call's argument list, where g++ 12 can destroy temporaries of that
full-expression twice. Name the awaited value first, then use it:

    tcp_stream s = co_await l.accept();          // not: spawn(f, co_await l.accept());
    std::string page = co_await stats_page();    // not: http_response{200, t, co_await p()}

    scripts/check-co-await-pitfall.py [DIR...]   (default: include lib examples)

A co_await in the condition of if/while/for/switch, or as a whole statement or a whole
initializer, is fine. Prints each finding as file:line and exits 1 if there is any.
"""
import os
import re
import sys

CONTROL = {"if", "while", "for", "switch", "catch", "co_return", "return", "co_yield"}
BLOCK_HEADS = {"struct", "class", "union", "enum", "namespace"}
BLOCK_AFTER = {"else", "try", "do", "mutable", "noexcept", "const", "override", "final"}


def strip(text):
    """Blanks comments and string/char literals, keeping offsets and newlines."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = [ch if ch == "\n" else " " for ch in text[i:j]]
            i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out[i + 1:j] = [ch if ch == "\n" else " " for ch in text[i + 1:j]]
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out[i + 1:j] = " " * (j - i - 1)
            i = j + 1
        else:
            i += 1
    return "".join(out)


def word_before(s, i):
    """The identifier (or punctuation char) just before index i, and where it starts."""
    j = i - 1
    while j >= 0 and s[j].isspace():
        j -= 1
    if j < 0:
        return "", -1
    if s[j].isalnum() or s[j] == "_":
        k = j
        while k >= 0 and (s[k].isalnum() or s[k] == "_"):
            k -= 1
        return s[k + 1:j + 1], k + 1
    return s[j], j


def enclosing_problem(s, at):
    """Why the co_await at `at` is inside an argument list or braced init, or None."""
    depth = 0
    i = at - 1
    while i >= 0:
        c = s[i]
        if c in ")]}":
            if c == "}" and depth == 0:
                return None  # a statement boundary
            depth += 1
        elif c in "([{":
            if depth > 0:
                depth -= 1
            else:
                if c == "[":
                    return None
                w, wstart = word_before(s, i)
                if c == "(":
                    if w in CONTROL or w in ("(", ",", "=", "!", "&&", "||", "?", ":"):
                        return None if w in CONTROL else "a parenthesised operand"
                    if w and (w[0].isalnum() or w[0] == "_" or w in (">", ")", "]")):
                        return "a function call's argument list"
                    return None
                # c == "{"
                if w in (")", ";", "{", "}", ":", "") or w in BLOCK_AFTER:
                    return None
                if w[0].isalnum() or w[0] == "_":
                    w2, _ = word_before(s, wstart)
                    if w2 in BLOCK_HEADS or w2 == ">" and "->" in s[max(0, wstart - 3):wstart]:
                        return None
                    arrow = s[max(0, wstart - 40):wstart]
                    if re.search(r"->\s*[\w:<>, ]*$", arrow):
                        return None  # a lambda's or function's trailing return type
                    return "a braced initializer"
                if w in ("=", ",", "(", "return"):
                    return "a braced initializer"
                return None
        elif c == ";" and depth == 0:
            return None
        i -= 1
    return None


def main():
    roots = sys.argv[1:] or ["include", "lib", "examples"]
    findings = 0
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in sorted(files):
                if not name.endswith((".hpp", ".cpp", ".h", ".cc")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    s = strip(f.read())
                for m in re.finditer(r"\bco_await\b", s):
                    why = enclosing_problem(s, m.start())
                    if why:
                        line = s.count("\n", 0, m.start()) + 1
                        print(f"{path}:{line}: co_await inside {why} (g++ 12 pitfall: "
                              f"name the awaited value first)")
                        findings += 1
    if findings:
        print(f"{findings} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
