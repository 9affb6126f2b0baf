#!/usr/bin/env python3
"""Finds import circles between the modules (files) of a Rust crate.

Usage: tools/import_circles.py CRATE_SRC_DIR [ROOT_FILE]   (default ROOT_FILE: lib.rs)

A module's edges are the modules its code names: `use` trees and inline paths that start
with `crate::`, `super::`, `self::` or a child module's name, resolved to the longest
module path that exists and through `pub use` re-exports (so `crate::Instant` leads to the
module that defines it). Comments and string literals are ignored. A module and its
submodules are one unit: `mod x;` declarations and edges between a module and its own
ancestors or descendants are not counted (a parent naming its child, a child naming its
parent's items). Prints every strongly connected component of more than one module.
"""
import os, re, sys

src = sys.argv[1]
root_file = sys.argv[2] if len(sys.argv) > 2 else "lib.rs"

# module path (tuple) -> file
mods = {}
def walk(path, modpath):
    mods[modpath] = path
    text = strip(open(path).read())
    d = os.path.dirname(path)
    base = os.path.basename(path)
    if base in ("lib.rs", "main.rs", "mod.rs"):
        sub = d
    else:
        sub = os.path.join(d, base[:-3])
    for m in re.finditer(r'(?:#\[path\s*=\s*"([^"]+)"\]\s*)?(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;', text):
        name = m.group(2)
        if m.group(1):
            f = os.path.join(sub if base not in ("lib.rs","main.rs","mod.rs") else d, m.group(1))
        else:
            f = os.path.join(sub, name + ".rs")
            if not os.path.exists(f):
                f = os.path.join(sub, name, "mod.rs")
        if os.path.exists(f):
            walk(f, modpath + (name,))

def strip(t):
    out = []; i = 0; n = len(t)
    while i < n:
        c = t[i]
        if t.startswith("//", i):
            j = t.find("\n", i); i = n if j < 0 else j
        elif t.startswith("/*", i):
            depth = 0
            while i < n:
                if t.startswith("/*", i): depth += 1; i += 2
                elif t.startswith("*/", i):
                    depth -= 1; i += 2
                    if depth == 0: break
                else: i += 1
        elif c == 'r' and re.match(r'r#*"', t[i:i+10]) and (i == 0 or not (t[i-1].isalnum() or t[i-1]=='_')):
            m = re.match(r'r(#*)"', t[i:]); hashes = m.group(1)
            end = t.find('"' + hashes, i + len(m.group(0)))
            i = n if end < 0 else end + 1 + len(hashes); out.append('""')
        elif c == '"':
            i += 1
            while i < n and t[i] != '"':
                i += 2 if t[i] == '\\' else 1
            i += 1; out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", t[i:i+4]) or (c == "'" and t.startswith("'\\", i)):
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", t[i:])
            if m: i += len(m.group(0)); out.append("' '")
            else: out.append(c); i += 1
        else:
            out.append(c); i += 1
    return "".join(out)

def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']"""
    tree = re.sub(r"\s+", "", tree)
    def parse(s, i):
        # returns list of paths, new index
        prefix = ""
        while i < len(s) and s[i] not in "{,}":
            prefix += s[i]; i += 1
        if i < len(s) and s[i] == "{":
            i += 1; res = []
            while True:
                sub, i = parse(s, i)
                res += [prefix + x for x in sub]
                if s[i] == ",": i += 1
                if s[i] == "}": i += 1; break
            return res, i
        return [prefix], i
    return parse(tree, 0)[0]

def resolve(cur, segs, depth=0):
    """Module path that `segs` (from module `cur`) lands in, or None for external."""
    if not segs: return None
    if segs[0] == "crate": base = (); segs = segs[1:]
    elif segs[0] in ("self",): base = cur; segs = segs[1:]
    elif segs[0] == "super":
        base = cur
        while segs and segs[0] == "super":
            base = base[:-1]; segs = segs[1:]
    elif cur + (segs[0],) in mods: base = cur
    else: return None
    best = base
    for k, s in enumerate(segs):
        if best + (s,) in mods: best = best + (s,)
        elif (best, s) in reexports and depth < 8:
            tgt_mod, tgt_segs = reexports[(best, s)]
            r = resolve(tgt_mod, tgt_segs + segs[k + 1:], depth + 1)
            return best if r is None else r
        else: break
    return best

walk(os.path.join(src, root_file), ())
# (module, exported name) -> (module it is written in, path segments)
reexports = {}
for m, f in mods.items():
    for u in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", strip(open(f).read())):
        for p in expand_use(u.group(1)):
            alias = re.search(r"as(\w+)$", p)
            p = re.sub(r"as\w+$", "", p)
            segs = [x for x in p.split("::") if x]
            if segs and segs[-1] != "*":
                reexports[(m, alias.group(1) if alias else segs[-1])] = (m, segs)
edges = {m: set() for m in mods}
for m, f in mods.items():
    text = strip(open(f).read())
    paths = []
    for u in re.finditer(r"\buse\s+([^;]+);", text):
        paths += expand_use(u.group(1))
    for p in re.finditer(r"\b(?:crate|super|self|[a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+", text):
        paths.append(p.group(0))
    for p in paths:
        p = re.sub(r"\bas\s*\w+$", "", p).replace(" ", "")
        segs = [s for s in p.split("::") if s and s != "*"]
        t = resolve(m, segs)
        if t is not None and t != m and t[:len(m)] != m and m[:len(t)] != t:
            edges[m].add(t)

# Tarjan
index = {}; low = {}; stack = []; on = set(); sccs = []; cnt = [0]
sys.setrecursionlimit(10000)
def sc(v):
    index[v] = low[v] = cnt[0]; cnt[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
for v in mods:
    if v not in index: sc(v)
name = lambda m: "crate" + "".join("::" + s for s in m)
bad = [c for c in sccs if len(c) > 1]
print(f"{src}: {len(mods)} modules, {sum(len(e) for e in edges.values())} edges, {len(bad)} circle(s)")
for c in bad:
    cs = set(c)
    print(f"  circle of {len(c)}: " + ", ".join(sorted(os.path.relpath(mods[m]) for m in c)))
    for m in sorted(c):
        for t in sorted(edges[m] & cs):
            print(f"    {name(m)} -> {name(t)}")
sys.exit(1 if bad else 0)
