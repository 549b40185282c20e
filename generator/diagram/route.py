"""Orthogonal edge routing on a track grid (pure).

The chart is a grid of *lines*: per lane a centre line (where the shapes sit) and side tracks
near its borders; per row a centre line and, in the gap above the row, horizontal tracks; to
the right of the lanes, corridor tracks for loops back. Shapes are nodes of the grid. Each edge
is found by A* over (node, heading) with costs for length, bends and crossings, under rules
that keep the picture readable:

* an edge never passes through a shape node; it leaves and enters shapes through ports (the
  segment next to the node in one of four directions), one edge per outgoing port;
* a grid segment carries one edge, except that edges into the same target may merge;
* where two edges meet at a node they must cross straight through it (no shared bends);
* only corridor tracks may be travelled upwards, so every loop back runs in the corridor.

Lines carry estimated coordinates for costs only; real coordinates are assigned afterwards, once
it is known which tracks are used (unused tracks take no space).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

RIGHT, DOWN, LEFT, UP = 0, 1, 2, 3
STEP = ((1, 0), (0, 1), (-1, 0), (0, -1))
BEND_COST = 40.0
CROSS_COST = 250.0
SIDE_ENTRY_COST = 80.0
INF = float("inf")


class RoutingError(Exception):
    """No path exists under the rules with the tracks given."""


@dataclass(frozen=True)
class Request:
    id: int
    source: tuple[int, int]  # grid node (x index, y index)
    target: tuple[int, int]
    target_key: str  # edges with the same key may share segments (they merge into one arrow)
    back: bool = False


@dataclass
class Grid:
    xs: Sequence[float]  # estimated coordinate of each vertical line
    ys: Sequence[float]  # estimated coordinate of each horizontal line
    upward: frozenset[int]  # vertical lines that may be travelled upwards (the corridor)
    shapes: frozenset[tuple[int, int]]
    out_degree: dict[tuple[int, int], int] = field(default_factory=dict)
    # state built while routing
    segments: dict[tuple[tuple[int, int], tuple[int, int]], Counter] = field(default_factory=dict)
    nodes: dict[tuple[int, int], list[tuple[str, str]]] = field(default_factory=dict)
    ports: set[tuple[tuple[int, int], int]] = field(default_factory=set)

    def route(self, request: Request) -> list[tuple[int, int]]:
        """The cheapest legal path for ``request``; commits it to the grid."""
        path = self._search(request)
        if path is None:
            raise RoutingError(f"no route for edge {request.id}")
        self._commit(path, request)
        return path

    # -- search ---------------------------------------------------------------------------
    def _search(self, req: Request) -> list[tuple[int, int]] | None:
        # A hot loop: locals instead of attributes, nodes as tuples, states as (node, heading).
        xs, ys = self.xs, self.ys
        nx, ny = len(xs), len(ys)
        start, goal = req.source, req.target
        key = req.target_key
        gx, gy = xs[goal[0]], ys[goal[1]]
        segments, nodes, ports, shapes, upward = (self.segments, self.nodes, self.ports,
                                                 self.shapes, self.upward)
        exits_of_goal = self.out_degree.get(goal, 0)
        counter = 0
        frontier: list = []
        best: dict = {}
        parent: dict = {}
        for heading in (DOWN, RIGHT, LEFT):
            if (start, heading) in ports:
                continue
            state = (start, heading)
            best[state] = 0.0
            parent[state] = None
            h = abs(xs[start[0]] - gx) + abs(ys[start[1]] - gy)
            if start[0] != goal[0] and start[1] != goal[1]:
                h += BEND_COST
            heapq.heappush(frontier, (h, counter, start, heading, 0.0))
            counter += 1
        while frontier:
            _, _, node, heading, cost = heapq.heappop(frontier)
            if cost > best.get((node, heading), INF):
                continue
            if node == goal:
                return self._unwind(parent, (node, heading))
            x, y = node
            at_start = node == start
            node_users = nodes.get(node)
            may_bend = at_start or not node_users or all(k == key for k, _ in node_users)
            for turn in ((heading,) if at_start else (heading, (heading + 1) % 4, (heading + 3) % 4)):
                if turn == UP and x not in upward:
                    continue
                dx, dy = STEP[turn]
                nxt = (x + dx, y + dy)
                if not (0 <= nxt[0] < nx and 0 <= nxt[1] < ny):
                    continue
                is_goal = nxt == goal
                if nxt in shapes and not is_goal:
                    continue
                users = segments.get((node, nxt) if node <= nxt else (nxt, node))
                if users and (len(users) > 1 or key not in users):
                    continue
                bent = turn != heading
                if bent and not may_bend:
                    continue
                extra = 0.0
                if is_goal:
                    if (goal, (turn + 2) % 4) in ports:
                        continue  # that side of the target already sends an edge out
                    if turn != DOWN:
                        # a side taken by an incoming edge is lost to the target's exits: a
                        # decision needs its bottom and both sides for three exits
                        if exits_of_goal >= 3:
                            continue
                        if exits_of_goal == 2:
                            extra = SIDE_ENTRY_COST
                else:
                    others = nodes.get(nxt)
                    if others:
                        axis = "h" if turn in (LEFT, RIGHT) else "v"
                        blocked = False
                        for k, how in others:
                            if k != key:
                                if how == "bend" or how == axis:
                                    blocked = True
                                    break
                                extra = CROSS_COST
                            elif how != "bend" and how != axis:
                                extra = CROSS_COST  # two arrows into one step still cross here
                        if blocked:
                            continue
                new = (cost + abs(xs[nxt[0]] - xs[x]) + abs(ys[nxt[1]] - ys[y])
                       + (BEND_COST if bent else 0.0) + extra)
                state = (nxt, turn)
                if new < best.get(state, INF):
                    best[state] = new
                    parent[state] = (node, heading)
                    # admissible: the distance, and one bend if not yet in line with the goal
                    h = abs(xs[nxt[0]] - gx) + abs(ys[nxt[1]] - gy)
                    if nxt[0] != goal[0] and nxt[1] != goal[1]:
                        h += BEND_COST
                    heapq.heappush(frontier, (new + h, counter, nxt, turn, new))
                    counter += 1
        return None

    @staticmethod
    def _unwind(parent: dict, state: tuple) -> list[tuple[int, int]]:
        path = []
        while state is not None:
            path.append(state[0])
            state = parent[state]
        path.reverse()
        return path

    # -- commit ---------------------------------------------------------------------------
    def _commit(self, path: list[tuple[int, int]], req: Request) -> None:
        for a, b in pairwise(path):
            self.segments.setdefault(_seg(a, b), Counter())[req.target_key] += 1
        self.ports.add((path[0], _heading(path[0], path[1])))
        for node, how in passes(path):
            self.nodes.setdefault(node, []).append((req.target_key, how))

    def route_fixed(self, path: list[tuple[int, int]], request: Request) -> None:
        """Put back a path taken off with :meth:`unroute`."""
        self._commit(path, request)

    def unroute(self, path: list[tuple[int, int]], req: Request) -> None:
        """Take a committed path off the grid again (to route it anew)."""
        for a, b in pairwise(path):
            users = self.segments[_seg(a, b)]
            users[req.target_key] -= 1
            if users[req.target_key] <= 0:
                del users[req.target_key]
        self.ports.discard((path[0], _heading(path[0], path[1])))
        for node, how in passes(path):
            self.nodes[node].remove((req.target_key, how))

    def crossings(self, path: list[tuple[int, int]], req: Request) -> int:
        """How many other edges this committed path crosses."""
        return sum(1 for node, how in passes(path) if how in ("h", "v") and any(
            h in ("h", "v") and h != how for _, h in self.nodes[node]))


def passes(path: list[tuple[int, int]]) -> list[tuple[tuple[int, int], str]]:
    """Each inner node of a path with how the path goes through it: h, v or bend."""
    out = []
    for i in range(1, len(path) - 1):
        before, after = _heading(path[i - 1], path[i]), _heading(path[i], path[i + 1])
        if before != after:
            out.append((path[i], "bend"))
        else:
            out.append((path[i], "h" if before in (LEFT, RIGHT) else "v"))
    return out


def _seg(a: tuple[int, int], b: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    return (a, b) if a <= b else (b, a)


def _heading(a: tuple[int, int], b: tuple[int, int]) -> int:
    dx, dy = b[0] - a[0], b[1] - a[1]
    if dx > 0:
        return RIGHT
    if dx < 0:
        return LEFT
    return DOWN if dy > 0 else UP


def corners(path: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The path with straight runs collapsed to their end points."""
    if len(path) <= 2:
        return list(path)
    out = [path[0]]
    for prev, node, nxt in zip(path, path[1:], path[2:], strict=False):
        if _heading(prev, node) != _heading(node, nxt):
            out.append(node)
    out.append(path[-1])
    return out
