#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The shape of the server (issue 14): lines per layer folder, the largest
# files, and the largest circle of .c files that call each other (strongly
# connected components of the call graph, from ctags definitions and a
# grep for "name("), and calls from a layer up into a higher one. Needs
# ctags (Debian's universal-ctags). Run from the repository:
#   python3 scripts/measure-layers.py [-v]
import os, re, subprocess, sys
from collections import defaultdict

files = subprocess.check_output(['git', 'ls-files', '*.c', '*.h'], text=True).split()
server = ['common','protocol','store','queues','exchanges','auth','runtime','vhost','amqp','mgmt','broker']
lines = {f: sum(1 for _ in open(f)) for f in files}
tot = sum(v for f, v in lines.items() if f.split('/')[0] in server)
print('server lines', tot)
for d in server:
    n = sum(v for f, v in lines.items() if f.split('/')[0] == d)
    if n: print(f'  {d:10} {n:6} {100*n/tot:5.1f}%  files={sum(1 for f in lines if f.split("/")[0]==d)}')
big = sorted(((v, f) for f, v in lines.items() if f.split('/')[0] in server), reverse=True)[:6]
print('largest', big)
# call graph between .c files of the server: ctags definitions, calls
# outside comments
cfiles = [f for f in files if f.endswith('.c') and f.split('/')[0] in server]
defs = {}
out = subprocess.check_output(['ctags', '-x', '--c-kinds=f', '--extras=-F'] + cfiles, text=True)
for l in out.splitlines():
    p = l.split()
    name, kind, line, fn = p[0], p[1], p[2], p[3]
    defs.setdefault(name, fn)
static = set()
edges = defaultdict(set)
ident = re.compile(r'\b([A-Za-z_]\w*)\s*\(')
comment = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
for f in cfiles:
    src = comment.sub(' ', open(f).read())  # "main() took it" calls nothing
    for m in ident.finditer(src):
        g = defs.get(m.group(1))
        if g and g != f: edges[f].add(g)
# Tarjan
idx, low, st, on, sccs, c = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
for v in cfiles:
    if v not in idx: sc(v)
sccs.sort(key=len, reverse=True)
print('largest call circle (files):', len(sccs[0]), sorted(sccs[0]) if '-v' in sys.argv else '')
print('other circles >1:', [len(s) for s in sccs[1:] if len(s) > 1])
# per-folder largest circle
per = defaultdict(int)
for s in sccs:
    for d in server:
        n = sum(1 for f in s if f.split('/')[0] == d)
        per[d] = max(per[d], n)
print('largest circle restricted to one folder:', {d: n for d, n in per.items() if n > 1})
# cross-folder upward calls
order = {d: i for i, d in enumerate(server)}
up = defaultdict(set)
for f, gs in edges.items():
    for g in gs:
        a, b = f.split('/')[0], g.split('/')[0]
        if order[b] > order[a]: up[f].add(g)
print('upward calls (file -> file):', sum(len(v) for v in up.values()))
if '-v' in sys.argv:
    for f in sorted(up): print('  ', f, '->', sorted(up[f]))
