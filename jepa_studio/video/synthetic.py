"""The bundled sample scene: a garden with a fence and a tree, and things moving through it.

Everything is drawn with numpy from signed distance functions (a one-pixel ramp at every
edge, so edges are anti-aliased) and seeded value noise (grass, wood grain, bark, leaves,
a gravel path). The background is static; what moves does so at several speeds and in
several directions, so the maps of an encoder have something to show:

========== ============================================= ====================
object     what it does                                   speed (640x360)
========== ============================================= ====================
clouds     drift right, behind the tree                   4-10 px/s
bird       flies right across the sky, flapping           ~95 px/s
bouncer    a purple ball bouncing along *behind* the      ~55 px/s
           fence: seen through the gaps between slats
car        a red toy car creeping right, wheels turning   ~22 px/s
ball       a beach ball rolling fast to the left          ~150 px/s
pinwheel   turns in place (rotation, no translation)      2 rad/s
========== ============================================= ====================

Geometry is laid out on a 640x360 reference canvas and scaled to the requested size;
motion is defined in seconds, so ``fps`` changes the sampling, not the speeds.

:mod:`jepa_studio.video.sample` renders it to the bundled sample video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import UsageError
from .drawing import Box, Region, box_around, coverage, fractal_noise, lerp_color, sd_capsule, sd_circle, sd_round_box, soft_ellipse, wrap

#: frames, size (width, height), fps and seed of the bundled ``resources/sample.mp4``
SAMPLE_FRAMES = 240
SAMPLE_SIZE = (640, 360)
SAMPLE_FPS = 24.0
SAMPLE_SEED = 0
SAMPLE_CRF = 18


#: the points whose ground truth the scene knows: each a point that moves rigidly with its
#: object (the ball's and the bouncer's centre, the car body's centre, the bird's body), and
#: the pinwheel's hub, which turns in place and never moves
TRACKED_POINTS = ("ball", "car", "bird", "bouncer", "pinwheel")


@dataclass(frozen=True)
class SceneTruth:
    """What the generator knows about the tracked points of frames ``0..T-1``.

    Attributes
    ----------
    names: the N point names (:data:`TRACKED_POINTS`).
    xy: float64 [N, T, 2], (x, y) in source-frame pixels (pixel centres at integer + 0.5
        are not used: x = 0 is the left edge of the frame).
    velocity: float64 [N, T, 2], px per second (the true motion, across wrap-arounds).
    visible: bool [N, T]: the point lies inside the frame and nothing is drawn over it.
    fps: frames per second (frame ``i`` shows time ``i / fps``).
    """

    names: tuple[str, ...]
    xy: np.ndarray
    velocity: np.ndarray
    visible: np.ndarray
    fps: float


class SampleScene:
    """The sample garden scene at one size and frame rate.

    Parameters
    ----------
    size
        (width, height) in pixels.
    fps
        Frames per second; frame ``i`` shows time ``i / fps`` seconds.
    seed
        Seeds the textures (grass, wood, bark, leaves, clouds, gravel, flowers).

    Frames are uint8 [H, W, 3]. Pixels outside :meth:`object_boxes` of a frame are
    exactly those of :meth:`background`, whatever the frame.
    """

    def __init__(self, size: tuple[int, int] = SAMPLE_SIZE, fps: float = SAMPLE_FPS, seed: int = 0):
        width, height = int(size[0]), int(size[1])
        if width < 16 or height < 16:
            raise UsageError(f"sample scene size must be at least 16x16, got {width}x{height}")
        if not fps > 0:
            raise UsageError(f"fps must be positive, got {fps}")
        self.width, self.height, self.fps, self.seed = width, height, float(fps), int(seed)
        self.s = height / 360.0  # lengths
        self.sx = width / 640.0  # horizontal positions and speeds
        rng = np.random.default_rng(seed)
        self._sky = self._paint_sky()
        self._mid_rgb, self._mid_a = self._paint_middle(rng)
        self._fence_rgb, self._fence_a = self._paint_fence_and_front(rng)
        self._clouds = self._make_clouds(rng)
        self._background = self._compose(0.0, with_objects=False)

    # ----------------------------------------------------------- static layers

    def _y(self, y_ref: float) -> float:
        return y_ref * self.s

    def _x(self, x_ref: float) -> float:
        return x_ref * self.sx

    def _paint_sky(self) -> np.ndarray:
        h, w = self.height, self.width
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None] * np.ones((1, w), np.float32)
        t = np.clip(t / (205 / 360), 0.0, 1.0) ** 1.3
        return lerp_color((78, 138, 208), (196, 222, 238), t)

    def _paint_middle(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Hills, the meadow behind the fence and the tree: premultiplied RGB and alpha."""
        h, w = self.height, self.width
        rgb = np.zeros((h, w, 3), np.float32)
        alpha = np.zeros((h, w), np.float32)
        full = Region((h, w), (0, 0, w, h))
        x, y = full.x, full.y

        def over(a: np.ndarray, color: np.ndarray | Sequence[float]) -> None:
            nonlocal rgb, alpha
            rgb = rgb * (1.0 - a[..., None]) + np.asarray(color, np.float32) * a[..., None]
            alpha = alpha * (1.0 - a) + a

        xr = x / self.sx  # reference x
        # far hills (hazy blue-green), then nearer hills
        far = 172 + 10 * np.sin(xr / 95 + 1.3) + 6 * np.sin(xr / 41 + 0.2)
        over(coverage(self._y(far[0])[None, :] - y), (128, 166, 150))
        near = 190 + 9 * np.sin(xr / 70 + 2.1) + 4 * np.sin(xr / 23)
        n = fractal_noise(rng, h, w, 18 * self.s, 30 * self.s)
        over(coverage(self._y(near[0])[None, :] - y), lerp_color((92, 142, 84), (110, 156, 92), n))
        # meadow behind the fence: lighter and finer than the front grass (it is farther)
        horizon = self._y(204)
        streaks = fractal_noise(rng, h, w, 6 * self.s, 2 * self.s)
        blotch = fractal_noise(rng, h, w, 24 * self.s, 40 * self.s)
        meadow = lerp_color((118, 168, 72), (150, 186, 92), 0.6 * blotch + 0.4 * streaks)
        over(coverage(horizon - y), meadow)

        # the tree (behind the fence): trunk, branches, then a leafy crown of clumps
        tx = self._x(475)
        trunk_top, trunk_bottom = self._y(96), self._y(250)
        half_w = (7 + 5 * np.clip((y - trunk_top) / (trunk_bottom - trunk_top), 0, 1)) * self.s
        sd_trunk = np.maximum(np.abs(x - tx) - half_w, np.maximum(trunk_top - y, y - trunk_bottom))
        for ax, ay, bx, by, r in ((475, 150, 440, 108, 4), (475, 140, 515, 100, 3.5), (473, 120, 455, 80, 3)):
            sd_trunk = np.minimum(
                sd_trunk,
                sd_capsule(x, y, self._x(ax), self._y(ay), self._x(bx), self._y(by), r * self.s),
            )
        bark = fractal_noise(rng, h, w, 14 * self.s, 2.5 * self.s)
        side = np.clip((x - tx) / (12 * self.s), -1, 1)  # light from the left
        bark_col = lerp_color((112, 78, 50), (70, 46, 30), 0.55 * bark + 0.45 * (side * 0.5 + 0.5))
        over(coverage(sd_trunk), bark_col)

        cx, cy = tx, self._y(84)
        leaf_noise = fractal_noise(rng, h, w, 5 * self.s, 5 * self.s, octaves=2)
        greens = np.array([(52, 112, 44), (66, 130, 50), (40, 96, 40), (78, 140, 58)], np.float32)
        clumps = []
        for _ in range(46):
            ang = rng.uniform(0, 2 * math.pi)
            rad = math.sqrt(rng.uniform(0, 1))
            px = cx + math.cos(ang) * rad * 78 * self.s
            py = cy + math.sin(ang) * rad * 54 * self.s
            clumps.append((py, px, rng.uniform(17, 27) * self.s, greens[rng.integers(len(greens))]))
        clumps.sort(key=lambda c: c[0])  # back (top) first, so lower clumps overlap
        for py, px, r, base in clumps:
            d = sd_circle(x, y, px, py, r)
            # lit from the upper left: lighter there, darker at the lower right rim
            lx = np.clip(((x - px) + (y - py)) / (2 * r), -1, 1)
            shade = 1.12 - 0.32 * (lx * 0.5 + 0.5) - 0.18 * np.clip((d + r) / r, 0, 1) ** 3
            col = base[None, None, :] * (shade * (0.8 + 0.4 * leaf_noise))[..., None]
            over(coverage(d), np.clip(col, 0, 255))
        return rgb, alpha

    def _paint_fence_and_front(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The picket fence and everything in front of it: premultiplied RGB and alpha."""
        h, w = self.height, self.width
        full = Region((h, w), (0, 0, w, h))
        x, y = full.x, full.y
        rgb = np.zeros((h, w, 3), np.float32)
        alpha = np.zeros((h, w), np.float32)

        def over(a: np.ndarray, color: np.ndarray | Sequence[float]) -> None:
            nonlocal rgb, alpha
            rgb = rgb * (1.0 - a[..., None]) + np.asarray(color, np.float32) * a[..., None]
            alpha = alpha * (1.0 - a) + a

        s = self.s
        grain = fractal_noise(rng, h, w, 40 * s, 2.2 * s)
        knots = fractal_noise(rng, h, w, 9 * s, 9 * s, octaves=2)
        wood = lerp_color((196, 150, 100), (150, 104, 64), 0.7 * grain + 0.3 * knots)

        # two rails behind the pickets
        for top, bottom in ((190, 201), (236, 247)):
            sd = np.maximum(self._y(top) - y, y - self._y(bottom))
            rail_shade = 0.78 + 0.12 * np.clip((y - self._y(top)) / ((bottom - top) * s), 0, 1)
            over(coverage(sd), wood * rail_shade[..., None] * 0.9)

        # pickets with pointed tops, a bevel of light on the left and shadow on the right
        period, half = 24 * self.sx, 7.5 * self.sx
        local = (x - period / 2) % period - period / 2  # x relative to the nearest picket centre
        tip, bottom = self._y(172), self._y(266)
        shoulder = tip + 9 * s
        sd_sides = np.abs(local) - half
        rise = shoulder - tip
        sd_point = (np.abs(local) * rise - half * (y - tip)) / math.hypot(rise, half)  # pointed top
        sd_picket = np.maximum(np.maximum(sd_sides, sd_point), y - bottom)
        bevel = np.clip(local / half, -1, 1)
        picket_shade = 1.06 - 0.16 * (bevel * 0.5 + 0.5) - 0.18 * np.clip(np.abs(bevel) - 0.8, 0, 1) * 5
        over(coverage(sd_picket), np.clip(wood * picket_shade[..., None], 0, 255))

        # front grass: coarse blotches, vertical blade streaks, darker near the viewer
        front_top = self._y(260)
        blotch = fractal_noise(rng, h, w, 30 * s, 50 * s)
        blades = fractal_noise(rng, h, w, 9 * s, 1.6 * s)
        depth = np.clip((y - front_top) / (h - front_top), 0, 1)
        grass = lerp_color((104, 160, 62), (58, 118, 40), 0.5 * depth + 0.25 * blotch + 0.25 * blades)
        grass *= (0.86 + 0.28 * blades)[..., None]
        # the fence casts a soft shadow on the grass just in front of it
        shadow = np.clip(1 - (y - front_top) / (14 * s), 0, 1) * 0.35
        grass *= (1 - shadow)[..., None]
        sd_front = front_top - y
        # a gravel path along the bottom, with wavy edges and pebbles
        xr = x / self.sx
        path_top = self._y(322) + 3 * s * np.sin(xr / 37.0)
        path_bottom = self._y(357) + 2 * s * np.sin(xr / 23.0 + 1)
        gravel = fractal_noise(rng, h, w, 2.2 * s, 2.2 * s, octaves=2)
        sand = lerp_color((206, 184, 140), (164, 140, 100), 0.6 * gravel + 0.4 * blotch)
        sd_path = np.maximum(path_top - y, y - path_bottom)
        cov_path = coverage(sd_path, soft=1.5)
        ground = grass * (1 - cov_path[..., None]) + sand * cov_path[..., None]
        # a few flowers in the grass
        n_flowers = int(60 * self.sx * s)
        for _ in range(n_flowers):
            fx = rng.uniform(0, w)
            fy = rng.uniform(self._y(272), self._y(318))
            r = rng.uniform(1.3, 2.3) * s
            col = ((248, 232, 90), (250, 250, 246), (236, 120, 170))[rng.integers(3)]
            x0, y0 = int(fx - r - 2), int(fy - r - 2)
            x1, y1 = int(fx + r + 3), int(fy + r + 3)
            x0c, y0c, x1c, y1c = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if x1c <= x0c or y1c <= y0c:
                continue
            cov = coverage(sd_circle(x[y0c:y1c, x0c:x1c], y[y0c:y1c, x0c:x1c], fx, fy, r))
            patch = ground[y0c:y1c, x0c:x1c]
            patch[:] = patch * (1 - cov[..., None]) + np.asarray(col, np.float32) * cov[..., None]
        over(coverage(sd_front), ground)

        # the pinwheel's stick (static; the wheel on top of it turns)
        px, py = self._pinwheel_hub()
        over(coverage(sd_capsule(x, y, px, py, px, self._y(306), 2.0 * s)), (236, 228, 210))
        return rgb, alpha

    def _make_clouds(self, rng: np.random.Generator) -> list[tuple[float, float, float, list]]:
        clouds = []
        for x0, y0, speed, scale in ((90, 44, 7.0, 1.0), (330, 78, 10.0, 0.8), (560, 30, 4.5, 1.15)):
            puffs = []
            for _ in range(7):
                puffs.append((rng.uniform(-38, 38) * scale, rng.uniform(-6, 6) * scale, rng.uniform(12, 20) * scale))
            puffs.append((0.0, -8 * scale, 22 * scale))
            clouds.append((x0 + rng.uniform(-20, 20), y0, speed, puffs))
        return clouds

    # ----------------------------------------------------------- moving objects

    def _pinwheel_hub(self) -> tuple[float, float]:
        return self._x(78), self._y(242)

    def _cloud_state(self, t: float) -> list[tuple[float, float, float, list]]:
        """(centre x, centre y, half width, puffs) of each cloud at time t."""
        out = []
        margin = 70 * self.s
        for x0, y0, speed, puffs in self._clouds:
            cx = wrap(self._x(x0) + speed * self.sx * t, -margin, self.width + margin)
            half_w = max(abs(dx) + r for dx, _, r in puffs) * self.s + 3
            out.append((cx, self._y(y0), half_w, puffs))
        return out

    def _bird_state(self, t: float) -> tuple[float, float, float]:
        margin = 30 * self.s
        cx = wrap(self._x(-20) + 95 * self.sx * t, -margin, self.width + margin)
        cy = self._y(62) + 7 * self.s * math.sin(2 * math.pi * 0.45 * t)
        flap = math.sin(2 * math.pi * 2.6 * t)
        return cx, cy, flap

    def _bouncer_state(self, t: float) -> tuple[float, float, float]:
        r = 16 * self.s
        margin = 2 * r
        cx = wrap(self._x(110) + 55 * self.sx * t, -margin, self.width + margin)
        hop = abs(math.sin(math.pi * t / 1.3))
        cy = self._y(250) - r - 78 * self.s * hop
        return cx, cy, r

    def _car_state(self, t: float) -> tuple[float, float]:
        margin = 50 * self.s
        cx = wrap(self._x(215) + 22 * self.sx * t, -margin, self.width + margin)
        return cx, self._y(303)  # centre x, ground y

    def _ball_state(self, t: float) -> tuple[float, float, float]:
        r = 20 * self.s
        margin = 2 * r
        cx = wrap(self._x(540) - 150 * self.sx * t, -margin, self.width + margin)
        return cx, self._y(348) - r, r

    def object_boxes(self, index: int) -> dict[str, Box]:
        """Pixel boxes (x0, y0, x1, y1, end exclusive, not clipped) of what moves in frame ``index``.

        Drawing stays inside these boxes, so any pixel outside all of them equals the
        background.
        """
        t = index / self.fps
        s = self.s
        boxes: dict[str, Box] = {}
        for i, (cx, cy, half_w, _) in enumerate(self._cloud_state(t)):
            boxes[f"cloud{i}"] = box_around(cx, cy, half_w, 32 * s)
        bx, by, _ = self._bird_state(t)
        boxes["bird"] = box_around(bx, by, 24 * s, 24 * s)
        ux, uy, ur = self._bouncer_state(t)
        boxes["bouncer"] = box_around(ux, uy, ur + 1, ur + 1)
        cx, gy = self._car_state(t)
        boxes["car"] = box_around(cx, gy - 18 * s, 43 * s, 26 * s)
        lx, ly, lr = self._ball_state(t)
        boxes["ball"] = box_around(lx, ly + 4 * s, lr + 6 * s, lr + 6 * s)
        px, py = self._pinwheel_hub()
        boxes["pinwheel"] = box_around(px, py, 27 * s, 27 * s)
        return boxes

    def _point_at(self, name: str, t: float) -> tuple[float, float]:
        """(x, y) in pixels of tracked point ``name`` at time ``t`` (see :data:`TRACKED_POINTS`)."""
        if name == "ball":
            return self._ball_state(t)[:2]
        if name == "car":
            cx, gy = self._car_state(t)
            return cx, gy - 14.5 * self.s  # the body's centre: ground - wheel radius - 6
        if name == "bird":
            return self._bird_state(t)[:2]
        if name == "bouncer":
            return self._bouncer_state(t)[:2]
        if name == "pinwheel":
            return self._pinwheel_hub()
        raise KeyError(name)

    def _occluders(self, name: str) -> tuple[np.ndarray, ...]:
        """Alpha maps [H, W] of the static layers drawn over point ``name``."""
        return (self._fence_a,) if name in ("bird", "bouncer") else ()

    def ground_truth(self, n_frames: int) -> SceneTruth:
        """Positions, velocities and visibility of :data:`TRACKED_POINTS` in frames ``0..n_frames-1``.

        Velocities are central differences over 1 ms; where the two one-sided differences
        disagree (the object wraps around the frame's edge in between) the smaller is used.
        """
        n = int(n_frames)
        names = TRACKED_POINTS
        xy = np.zeros((len(names), n, 2))
        vel = np.zeros((len(names), n, 2))
        visible = np.zeros((len(names), n), bool)
        eps = 1e-3
        for k, name in enumerate(names):
            for i in range(n):
                t = i / self.fps
                p = np.array(self._point_at(name, t))
                ahead = (np.array(self._point_at(name, t + eps)) - p) / eps
                behind = (p - np.array(self._point_at(name, t - eps))) / eps
                xy[k, i] = p
                vel[k, i] = ahead if np.abs(ahead).sum() <= np.abs(behind).sum() else behind
                x, y = p
                inside = 0 <= x < self.width and 0 <= y < self.height
                if inside:
                    px, py = int(x), int(y)
                    inside = all(a[py, px] < 0.5 for a in self._occluders(name))
                visible[k, i] = inside
        return SceneTruth(names, xy, vel, visible, self.fps)

    def _draw_clouds(self, img: np.ndarray, t: float, boxes: dict[str, Box]) -> None:
        for i, (cx, cy, _, puffs) in enumerate(self._cloud_state(t)):
            reg = Region(img.shape[:2], boxes[f"cloud{i}"])
            if reg.empty:
                continue
            sd = np.full(reg.x.shape, np.inf, np.float32)
            for dx, dy, r in puffs:
                sd = np.minimum(sd, sd_circle(reg.x, reg.y, cx + dx * self.s, cy + dy * self.s, r * self.s))
            sd = np.maximum(sd, reg.y - (cy + 12 * self.s))  # flat bottom
            under = np.clip((reg.y - (cy - 20 * self.s)) / (32 * self.s), 0, 1)
            col = lerp_color((255, 255, 255), (214, 222, 234), under)
            reg.blend(img, coverage(sd, soft=2.5 * self.s) * 0.95, col)

    def _draw_bird(self, img: np.ndarray, t: float, box: Box) -> None:
        reg = Region(img.shape[:2], box)
        if reg.empty:
            return
        s = 1.35 * self.s
        cx, cy, flap = self._bird_state(t)
        x, y = reg.x, reg.y
        sd = sd_capsule(x, y, cx - 9 * s, cy + 1 * s, cx + 5 * s, cy, 3.2 * s)
        sd = np.minimum(sd, sd_circle(x, y, cx + 8 * s, cy - 1.5 * s, 3.0 * s))
        sd = np.minimum(sd, sd_capsule(x, y, cx - 9 * s, cy + 1 * s, cx - 15 * s, cy - 1 * s, 1.6 * s))
        elbow = (cx - 2 * s, cy - 9 * s * flap)
        tip = (elbow[0] - 9 * s, elbow[1] - 4 * s * flap + 1 * s)
        sd = np.minimum(sd, sd_capsule(x, y, cx + 1 * s, cy - 1 * s, elbow[0], elbow[1], 2.4 * s))
        sd = np.minimum(sd, sd_capsule(x, y, elbow[0], elbow[1], tip[0], tip[1], 1.5 * s))
        reg.blend(img, coverage(sd), (44, 46, 62))
        beak = sd_capsule(x, y, cx + 10 * s, cy - 1.5 * s, cx + 13.5 * s, cy - 0.5 * s, 0.9 * s)
        reg.blend(img, coverage(beak), (232, 170, 60))

    def _shaded_ball(self, reg: Region, cx: float, cy: float, r: float, base: np.ndarray) -> np.ndarray:
        """Lit sphere colour [h, w, 3] over ``base`` colours [h, w, 3]: diffuse plus a highlight."""
        nx = (reg.x - cx) / r
        ny = (reg.y - cy) / r
        nz = np.sqrt(np.clip(1 - nx * nx - ny * ny, 0, 1))
        light = np.array([-0.45, -0.6, 0.66], np.float32)
        light /= np.linalg.norm(light)
        diffuse = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
        spec = np.clip((nx * light[0] + ny * light[1] + nz * light[2]), 0, 1) ** 24
        col = base * (0.42 + 0.62 * diffuse)[..., None] + 150 * spec[..., None]
        return np.clip(col, 0, 255)

    def _draw_bouncer(self, img: np.ndarray, t: float, box: Box) -> None:
        reg = Region(img.shape[:2], box)
        if reg.empty:
            return
        cx, cy, r = self._bouncer_state(t)
        base = np.broadcast_to(np.array([150, 72, 204], np.float32), reg.x.shape + (3,))
        reg.blend(img, coverage(sd_circle(reg.x, reg.y, cx, cy, r)), self._shaded_ball(reg, cx, cy, r, base))

    def _draw_ball(self, img: np.ndarray, t: float, box: Box) -> None:
        reg = Region(img.shape[:2], box)
        if reg.empty:
            return
        s = self.s
        cx, cy, r = self._ball_state(t)
        shadow = soft_ellipse(reg.x, reg.y, cx + 3 * s, cy + r, r * 1.1, 5 * s)
        reg.darken(img, shadow * 0.4)
        # a beach ball: six panels that turn as it rolls (rolling left: anticlockwise)
        rot = cx / r
        colours = np.array(
            [(226, 52, 48), (246, 244, 236), (40, 110, 210), (250, 204, 40), (246, 244, 236), (52, 170, 90)],
            np.float32,
        )
        n = len(colours)
        ang = (np.arctan2(reg.y - cy, reg.x - cx) - rot) % (2 * math.pi)
        frac = ang / (2 * math.pi / n)
        k = np.floor(frac).astype(np.int64) % n
        u = frac - np.floor(frac)
        radius = np.hypot(reg.x - cx, reg.y - cy)
        edge_px = np.minimum(u, 1 - u) * (2 * math.pi / n) * radius  # distance to a seam, px
        neighbour = np.where(u < 0.5, (k - 1) % n, (k + 1) % n)
        w_nb = 0.5 * np.clip(1 - edge_px, 0, 1)
        base = colours[k] * (1 - w_nb[..., None]) + colours[neighbour] * w_nb[..., None]
        cap = coverage(radius - 4.0 * s)  # a white cap at the pole
        base = base * (1 - cap[..., None]) + np.float32(246) * cap[..., None]
        reg.blend(img, coverage(radius - r), self._shaded_ball(reg, cx, cy, r, base))

    def _draw_car(self, img: np.ndarray, t: float, box: Box) -> None:
        reg = Region(img.shape[:2], box)
        if reg.empty:
            return
        s = self.s
        x, y = reg.x, reg.y
        cx, gy = self._car_state(t)
        wheel_r = 8.5 * s
        shadow = soft_ellipse(x, y, cx + 2 * s, gy, 40 * s, 5 * s)
        reg.darken(img, shadow * 0.4)
        body_cy = gy - wheel_r - 6 * s
        sd_body = sd_round_box(x, y, cx, body_cy, 36 * s, 10 * s, 5 * s)
        sd_cabin = sd_round_box(x, y, cx - 5 * s, body_cy - 14 * s, 19 * s, 11 * s, 7 * s)
        shade = np.clip((y - (body_cy - 25 * s)) / (36 * s), 0, 1)
        red = lerp_color((236, 78, 64), (168, 34, 32), shade)
        reg.blend(img, coverage(np.minimum(sd_body, sd_cabin)), red)
        for wx in (cx - 14 * s, cx + 3.5 * s):  # two windows, split by a pillar
            sd_win = sd_round_box(x, y, wx, body_cy - 15 * s, 7.5 * s, 6 * s, 3 * s)
            glass = lerp_color((214, 234, 246), (132, 170, 200), np.clip((y - (body_cy - 21 * s)) / (12 * s), 0, 1))
            reg.blend(img, coverage(sd_win), glass)
        reg.blend(img, coverage(sd_circle(x, y, cx + 34 * s, body_cy - 3 * s, 2.6 * s)), (255, 236, 150))
        stripe = np.maximum(np.abs(y - (body_cy + 1 * s)) - 1.2 * s, np.abs(x - cx) - 33 * s)
        reg.blend(img, coverage(stripe), (250, 236, 226))
        angle = cx / wheel_r  # rolling right: clockwise on screen
        for wx in (cx - 22 * s, cx + 22 * s):
            wy = gy - wheel_r
            reg.blend(img, coverage(sd_circle(x, y, wx, wy, wheel_r)), (34, 34, 38))
            reg.blend(img, coverage(sd_circle(x, y, wx, wy, 4.6 * s)), (188, 190, 196))
            for k in range(3):
                a = angle + k * 2 * math.pi / 3
                spoke = sd_capsule(x, y, wx, wy, wx + math.cos(a) * 4.2 * s, wy + math.sin(a) * 4.2 * s, 0.9 * s)
                reg.blend(img, coverage(spoke), (90, 92, 100))

    def _draw_pinwheel(self, img: np.ndarray, t: float, box: Box) -> None:
        reg = Region(img.shape[:2], box)
        if reg.empty:
            return
        s = self.s
        px, py = self._pinwheel_hub()
        big_r = 25 * s
        rot = 2.0 * t
        colours = np.array([(232, 64, 72), (250, 200, 50), (50, 130, 220), (70, 184, 96)], np.float32)
        dx, dy = reg.x - px, reg.y - py
        radius = np.hypot(dx, dy)
        ang = (np.arctan2(dy, dx) - rot) % (2 * math.pi)
        quarter = math.pi / 2
        k = np.floor(ang / quarter).astype(np.int64) % 4
        phi = ang - k * quarter  # angle inside this blade's quarter, [0, pi/2)
        # each blade is a curved triangle: wide near the rim, a sharp leading edge
        width = quarter * (0.25 + 0.55 * np.clip(radius / big_r, 0, 1))
        sd_edge = np.maximum(-phi, phi - width) * np.maximum(radius, 1.0)
        sd_blade = np.maximum(sd_edge, radius - big_r * (0.65 + 0.35 * np.clip(phi / width, 0, 1)))
        fold = np.clip((phi / np.maximum(width, 1e-3) - 0.5) * 4, 0, 1)
        col = colours[k] * (1.0 - 0.28 * fold)[..., None]
        reg.blend(img, coverage(sd_blade), col)
        reg.blend(img, coverage(radius - 2.8 * s), (245, 245, 240))

    # ----------------------------------------------------------- frames

    def _compose(self, t: float, with_objects: bool = True, boxes: dict[str, Box] | None = None) -> np.ndarray:
        img = self._sky.copy()
        if with_objects:
            assert boxes is not None
            self._draw_clouds(img, t, boxes)
        img *= (1.0 - self._mid_a)[..., None]
        img += self._mid_rgb
        if with_objects:
            self._draw_bird(img, t, boxes["bird"])
            self._draw_bouncer(img, t, boxes["bouncer"])
        img *= (1.0 - self._fence_a)[..., None]
        img += self._fence_rgb
        if with_objects:
            self._draw_pinwheel(img, t, boxes["pinwheel"])
            self._draw_car(img, t, boxes["car"])
            self._draw_ball(img, t, boxes["ball"])
        return np.clip(img + 0.5, 0, 255).astype(np.uint8)

    def background(self) -> np.ndarray:
        """The static scene with nothing moving in it, uint8 [H, W, 3]."""
        return self._background.copy()

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (time ``index / fps`` s), uint8 [H, W, 3]."""
        return self._compose(index / self.fps, boxes=self.object_boxes(index))
