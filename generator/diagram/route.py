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

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from heapq import heappop, heappush
from itertools import pairwise

RIGHT, DOWN, LEFT, UP = 0, 1, 2, 3
STEP = ((1, 0), (0, 1), (-1, 0), (0, -1))
BEND_COST = 40.0
CROSS_COST = 250.0
SIDE_ENTRY_COST = 80.0
INF = float("inf")


def _least_bends(heading: int, side_x: int, side_y: int) -> float:
    """The cost of the fewest bends from ``heading`` to the goal, given on which side of it the
    node lies (-1, 0, 1 per axis): none when it lies straight ahead, one when it lies ahead or
    abreast off the line, two when it lies behind. Admissible and consistent, and tighter than
    one bend for any goal off the line, so the search expands fewer states heading away."""
    dx, dy = STEP[heading]
    ahead = -(dx * side_x + dy * side_y)  # > 0: the goal is further along the heading
    across = side_y if dx else side_x
    if ahead < 0:
        return 2 * BEND_COST
    return 0.0 if across == 0 and ahead > 0 else (BEND_COST if across else 0.0)


_BENDS = tuple(tuple(tuple(_least_bends(h, sx - 1, sy - 1) for sy in range(3)) for sx in range(3))
               for h in range(4))
# bends still needed below the goal's row (the goal off every corridor track), by heading and
# whether the node is on a corridor track: the turn up and the turn back to the goal, and one
# more when heading down; heading up (on a corridor) only the turn back
_BELOW = ((2 * BEND_COST, 2 * BEND_COST), (3 * BEND_COST, 3 * BEND_COST),
          (2 * BEND_COST, 2 * BEND_COST), (2 * BEND_COST, BEND_COST))
# state-number offsets from a heading to the two across it, at the same node
_ACROSS = tuple((((h + 1) & 3) - h, ((h + 3) & 3) - h) for h in range(4))
# the moves from a heading, straight on first: (turn, bends, axis, offsets to across it)
_MOVES = tuple(tuple((t, t != h, "h" if t in (RIGHT, LEFT) else "v", *_ACROSS[t])
                     for t in (h, (h + 1) % 4, (h + 3) % 4)) for h in range(4))


@lru_cache(maxsize=256)
def _estimate_x(xs: tuple[float, ...], upward: frozenset[int], tx: int) -> list[list[list[float]]]:
    """The x part of the estimate, by heading, side of the goal's row and x line: the pages of a
    chart share their x lines (every trial page of a cut, every page with as many loops back),
    so it is worked out once for all their grids."""
    nx, gx = len(xs), xs[tx]
    hx = [abs(v - gx) for v in xs]
    wx = [(x > tx) - (x < tx) + 1 for x in range(nx)]
    ups = [x for x in upward if 0 <= x < nx]
    detour = [min(abs(xs[x] - xs[c]) + abs(xs[c] - gx) for c in ups) for x in range(nx)] \
        if ups and tx not in upward else None
    on_corridor = [x in upward for x in range(nx)]
    estimate = []
    for heading in range(4):
        bends = _BENDS[heading]
        by_side = [[hx[x] + bends[wx[x]][side] for x in range(nx)] for side in (0, 1)]
        if detour is not None:
            below = _BELOW[heading]
            by_side.append([detour[x] + max(bends[wx[x]][2], below[on_corridor[x]])
                            for x in range(nx)])
        elif ups:
            by_side.append([hx[x] + bends[wx[x]][2] for x in range(nx)])
        else:  # nothing goes up: a node below the goal is a dead end
            by_side.append([INF] * nx)
        estimate.append(by_side)
    return estimate


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

    def __post_init__(self) -> None:
        # The search is the hot loop of the whole layout: the grid is kept in flat lists indexed
        # by node number (x * len(ys) + y), so that a step costs list lookups, not tuple hashing.
        nx, ny = len(self.xs), len(self.ys)
        self._ny = ny
        size = nx * ny
        # segment (x, y)–(x+1, y) is ``_h[node]``, (x, y)–(x, y+1) is ``_v[node]``: target key → edges
        self._h: list[dict[str, int] | None] = [None] * size
        self._v: list[dict[str, int] | None] = [None] * size
        self._users: list[list[tuple[str, str]] | None] = [None] * size  # (key, h | v | bend)
        self._along_h = [0] * size  # straight passes through each node, horizontal and vertical
        self._along_v = [0] * size
        self._ports: set[int] = set()  # node * 4 + heading of every edge's first step
        self._shape = bytearray(size)
        for x, y in self.shapes:
            self._shape[x * ny + y] = 1
        self._up = bytearray(nx)
        for x in self.upward:
            self._up[x] = 1
        self._xs = tuple(self.xs)
        self._dx = [abs(b - a) for a, b in pairwise(self.xs)]
        self._dy = [abs(b - a) for a, b in pairwise(self.ys)]
        self.total_crossings = 0  # kept as paths come and go: what untangling compares
        self._best = [INF] * (size * 4)  # the search's cheapest cost of each state so far
        self._estimates: dict[int, list[list[list[float]]]] = {}
        self._estimates_y: dict[int, tuple[list[float], list[int]]] = {}

    def route(self, request: Request) -> list[tuple[int, int]]:
        """The cheapest legal path for ``request``; commits it to the grid."""
        return self.route_seen(request)[0]

    def route_seen(self, request: Request) -> tuple[list[tuple[int, int]], int]:
        """:meth:`route`, and how many y lines from the top its search read: a grid alike in
        those lines (coordinates, shapes, paths) and in its x lines finds the same path, since
        the search reads nothing below them."""
        path, seen = self._search(request)
        if path is None:
            raise RoutingError(f"no route for edge {request.id}")
        self._commit(path, request)
        return path, seen

    # -- search ---------------------------------------------------------------------------
    def _search(self, req: Request) -> tuple[list[tuple[int, int]] | None, int]:
        xs, ys = self.xs, self.ys
        nx, ny = len(xs), len(ys)
        sx, sy = req.source
        tx, ty = req.target
        start, goal = sx * ny + sy, tx * ny + ty
        key = req.target_key
        estimate = self._estimate_x(tx)
        hy, wy = self._estimate_y(ty)
        hseg, vseg, users_at, ports, shape, up = (self._h, self._v, self._users, self._ports,
                                                  self._shape, self._up)
        dxs, dys = self._dx, self._dy
        exits_of_goal = self.out_degree.get(req.target, 0)
        if not self._enterable(req, exits_of_goal):
            return None, ny  # found at once, not after searching every state that can be reached
        # what entering the target from each heading adds; None where that side is not free
        entry: list[float | None] = [0.0] * 4
        for turn in range(4):
            if goal * 4 + (turn + 2) % 4 in ports:
                entry[turn] = None  # that side of the target already sends an edge out
            elif turn != DOWN and exits_of_goal >= 2:
                # a side taken by an incoming edge is lost to the target's exits: a decision
                # needs its bottom and both sides for three exits
                entry[turn] = None if exits_of_goal >= 3 else SIDE_ENTRY_COST
        deepest = max(sy, ty)  # the lowest node expanded; the target's, read by _enterable
        counter = 0
        frontier: list = []
        best = self._best  # every state at INF between searches: only those set are put back
        parent: dict[int, int] = {}
        for heading in (DOWN, RIGHT, LEFT):
            if start * 4 + heading in ports:
                continue
            best[start * 4 + heading] = 0.0
            parent[start * 4 + heading] = -1
            h = estimate[heading][wy[sy]][sx] + hy[sy]
            heappush(frontier, (h, counter, 0.0, start * 4 + heading))
            counter += 1
        last_x, last_y = nx - 1, ny - 1
        found = None
        while frontier:
            _, _, cost, here = heappop(frontier)
            if cost > best[here]:
                continue
            node = here >> 2
            heading = here & 3
            if node == goal:
                found = self._unwind(parent, here, ny)
                break
            x, y = divmod(node, ny)
            if y > deepest:
                deepest = y
            if node == start:
                may_bend, moves = True, _MOVES[heading][:1]
            else:
                node_users = users_at[node]
                may_bend = not node_users or all(k == key for k, _ in node_users)
                if may_bend:
                    left, right = _ACROSS[heading]
                    if best[here + left] + BEND_COST < cost and best[here + right] + BEND_COST < cost:
                        # reached across this free node from both sides for more than a bend
                        # less: whatever this state does next, one of those does for less
                        # (going straight on where this one turns, turning where it goes
                        # straight); and neither of those can be dominated so in turn
                        continue
                moves = _MOVES[heading]
            for turn, bent, axis, left, right in moves:
                if bent and not may_bend:
                    continue
                if turn == RIGHT:
                    if x == last_x:
                        continue
                    nxt = node + ny
                    seg = hseg[node]
                    length = dxs[x]
                    mx = x + 1
                    my = y
                elif turn == DOWN:
                    if y == last_y:
                        continue
                    nxt = node + 1
                    seg = vseg[node]
                    length = dys[y]
                    mx = x
                    my = y + 1
                elif turn == LEFT:
                    if x == 0:
                        continue
                    nxt = node - ny
                    mx = x - 1
                    my = y
                    seg = hseg[nxt]
                    length = dxs[mx]
                else:  # only corridor tracks may be travelled upwards
                    if y == 0 or not up[x]:
                        continue
                    nxt = node - 1
                    mx = x
                    my = y - 1
                    seg = vseg[nxt]
                    length = dys[my]
                if seg and (len(seg) > 1 or key not in seg):
                    continue
                new = cost + length
                if bent:
                    new += BEND_COST
                if nxt == goal:
                    extra = entry[turn]
                    if extra is None:
                        continue
                    if extra:
                        new += extra
                    free = False
                elif shape[nxt]:
                    continue
                else:
                    others = users_at[nxt]
                    free = others is None
                    if others:
                        extra = 0.0
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
                        if extra:
                            new += extra
                state = nxt * 4 + turn
                if new < best[state]:
                    if free and (best[state + left] + BEND_COST < new
                                 and best[state + right] + BEND_COST < new):
                        # reached across this free node from both sides for more than a bend
                        # less: either does each move of this state for less
                        continue
                    best[state] = new
                    parent[state] = here
                    # admissible: the distance, and the bends the heading still needs
                    h = estimate[turn][wy[my]][mx] + hy[my]
                    heappush(frontier, (new + h, counter, new, state))
                    counter += 1
        for state in parent:
            best[state] = INF
        # an expanded node's neighbours are read, the line below it too
        return (found, deepest + 2) if found is not None else (None, ny)

    # The estimate of a state: the distance to the goal and the bends still needed, by heading,
    # by the side of the goal's row the node is on (above, on, below), by x line. Below the goal
    # a path must first reach a corridor, the only way up: from there the distance runs through
    # the nearest corridor track, and the bends include the turn up and the turn back (a loop
    # back, the costliest search, no longer combs the lanes). Its parts depend on the goal's x
    # line or its y line only, and many edges share a target: each part is worked out once.
    def _estimate_x(self, tx: int) -> list[list[list[float]]]:
        cached = self._estimates.get(tx)
        if cached is None:
            cached = self._estimates[tx] = _estimate_x(self._xs, self.upward, tx)
        return cached

    def _estimate_y(self, ty: int) -> tuple[list[float], list[int]]:
        cached = self._estimates_y.get(ty)
        if cached is None:
            ys = self.ys
            gy = ys[ty]
            cached = self._estimates_y[ty] = ([abs(v - gy) for v in ys],
                                              [(y > ty) - (y < ty) + 1 for y in range(len(ys))])
        return cached

    def _enterable(self, req: Request, exits_of_goal: int) -> bool:
        """Whether some last step into the target could still be legal: its side free of the
        target's exits and of other edges' segments, and the node before it passable straight
        through (the rules of :meth:`_search`, asked of the four neighbours only)."""
        ny, key = self._ny, req.target_key
        tx, ty = req.target
        goal = tx * ny + ty
        for turn, (dx, dy) in enumerate(STEP):
            x, y = tx - dx, ty - dy  # the last step runs from (x, y) heading ``turn``
            if not (0 <= x < len(self.xs) and 0 <= y < ny):
                continue
            if turn == UP and x not in self.upward:
                continue
            if goal * 4 + (turn + 2) % 4 in self._ports:
                continue
            if turn != DOWN and exits_of_goal >= 3:
                continue
            n = x * ny + y
            if (x, y) == req.source:
                return True
            if self._shape[n]:
                continue
            seg = self._h[min(n, goal)] if dy == 0 else self._v[min(n, goal)]
            if seg and (len(seg) > 1 or key not in seg):
                continue
            axis = "h" if dy == 0 else "v"
            users = self._users[n] or ()
            if any(k != key and (how == "bend" or how == axis) for k, how in users):
                continue
            return True
        return False

    @staticmethod
    def _unwind(parent: dict[int, int], state: int, ny: int) -> list[tuple[int, int]]:
        path = []
        while state >= 0:
            path.append(divmod(state // 4, ny))
            state = parent[state]
        path.reverse()
        return path

    # -- commit ---------------------------------------------------------------------------
    def _segments(self, path: list[tuple[int, int]]) -> list[dict[str, int]]:
        """The users of each segment of the path (made where there are none yet)."""
        ny, hseg, vseg = self._ny, self._h, self._v
        out = []
        for (x1, y1), (x2, y2) in pairwise(path):
            if y1 == y2:
                table, index = hseg, (x1 if x1 < x2 else x2) * ny + y1
            else:
                table, index = vseg, x1 * ny + (y1 if y1 < y2 else y2)
            users = table[index]
            if users is None:
                users = table[index] = {}
            out.append(users)
        return out

    def _commit(self, path: list[tuple[int, int]], req: Request) -> None:
        key = req.target_key
        for users in self._segments(path):
            users[key] = users.get(key, 0) + 1
        (x, y) = path[0]
        self._ports.add((x * self._ny + y) * 4 + _heading(path[0], path[1]))
        self._passes(path, key, 1)

    def _passes(self, path: list[tuple[int, int]], key: str, sign: int) -> None:
        """Add (sign 1) or take off (-1) the path's passes through nodes, keeping the count of
        straight passes along each axis per node, from which crossings are counted."""
        ny, users_at, along_h, along_v = self._ny, self._users, self._along_h, self._along_v
        total = self.total_crossings
        for (ax, ay), (x, y), (cx, cy) in zip(path, path[1:], path[2:], strict=False):
            # as in passes(): the path keeps its heading exactly where two steps match
            how = "bend" if x - ax != cx - x or y - ay != cy - y else "h" if ay == y else "v"
            n = x * ny + y
            users = users_at[n]
            if users is None:
                users = users_at[n] = []
            if sign > 0:
                users.append((key, how))
            else:
                users.remove((key, how))
            if how != "bend":
                h, v = along_h[n], along_v[n]
                if h and v:
                    total -= h + v  # every straight pass through a node crossed there counts
                if how == "h":
                    h = along_h[n] = h + sign
                else:
                    v = along_v[n] = v + sign
                if h and v:
                    total += h + v
        self.total_crossings = total

    def route_fixed(self, path: list[tuple[int, int]], request: Request) -> None:
        """Put back a path taken off with :meth:`unroute`."""
        self._commit(path, request)

    def unroute(self, path: list[tuple[int, int]], req: Request) -> None:
        """Take a committed path off the grid again (to route it anew)."""
        key = req.target_key
        for users in self._segments(path):
            users[key] -= 1
            if users[key] <= 0:
                del users[key]
        (x, y) = path[0]
        self._ports.discard((x * self._ny + y) * 4 + _heading(path[0], path[1]))
        self._passes(path, key, -1)

    def crossings(self, path: list[tuple[int, int]], req: Request) -> int:
        """How many other edges this committed path crosses."""
        ny, along_h, along_v = self._ny, self._along_h, self._along_v
        count = 0
        for (x, y), how in passes(path):
            if (how == "h" and along_v[x * ny + y]) or (how == "v" and along_h[x * ny + y]):
                count += 1
        return count


def passes(path: list[tuple[int, int]]) -> list[tuple[tuple[int, int], str]]:
    """Each inner node of a path with how the path goes through it: h, v or bend."""
    # a path moves one line at a time, so it keeps its heading exactly where two steps match
    out = []
    for (ax, ay), node, (cx, cy) in zip(path, path[1:], path[2:], strict=False):
        bx, by = node
        if bx - ax != cx - bx or by - ay != cy - by:
            out.append((node, "bend"))
        else:
            out.append((node, "h" if ay == by else "v"))
    return out


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
    for (ax, ay), node, (cx, cy) in zip(path, path[1:], path[2:], strict=False):
        bx, by = node
        if bx - ax != cx - bx or by - ay != cy - by:  # unit steps: a turn where they differ
            out.append(node)
    out.append(path[-1])
    return out
