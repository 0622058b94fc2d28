"""Movement kernels: wanderers steer toward a goal, then everything integrates and is clamped to the world.

One tick of movement is three kernel calls around one random draw (see ``World.step``):

1. ``select_arrived`` lists the wanderers within the arrival radius of their goal;
2. the caller draws one batch of new goals for exactly those rows from the "wander" stream (kernels
   never draw random numbers, so the random sequence is owned and saved by ``RngStreams``);
3. ``steer_wanderers`` installs the new goals and points every wanderer at its goal;
4. ``integrate_positions`` moves every live entity and clamps it to the square world.

Common shapes (``n`` = rows swept, usually ``EntityTable.extent``): pos (n, 3) float64 metres,
vel (n, 3) float64 m/s, speed (n,) float64 m/s, target (n, 2) float64 metres, wander/alive (n,) bool.
Movement is planar: steering sets vel z to 0, distances are measured in x/y only.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True)
def select_arrived(pos, target, wander, alive, arrive_radius, out_rows):
    """Write the rows of live wanderers within ``arrive_radius`` metres (x/y) of their target.

    Args: pos (n, 3), target (n, 2), wander (n,) bool, alive (n,) bool, arrive_radius metres,
        out_rows (n,) int64 scratch.
    Returns: k; ``out_rows[:k]`` holds those rows in ascending order.
    """
    radius_sq = arrive_radius * arrive_radius
    k = 0
    for i in range(alive.shape[0]):
        if alive[i] and wander[i]:
            dx = target[i, 0] - pos[i, 0]
            dy = target[i, 1] - pos[i, 1]
            if dx * dx + dy * dy <= radius_sq:
                out_rows[k] = i
                k += 1
    return k


@njit(cache=True, nogil=True)
def steer_wanderers(pos, vel, speed, target, wander, alive, retarget_rows, new_targets, dt):
    """Give ``retarget_rows`` their ``new_targets``, then aim every live wanderer at its target.

    A wanderer's velocity points from its position to its target at its ``speed`` (m/s), slowed to
    ``distance / dt`` so it lands on the target instead of overshooting it; vel z is 0. A wanderer already
    on its target stops. Other rows are untouched.

    Args: pos (n, 3), vel (n, 3) written, speed (n,), target (n, 2) written, wander (n,), alive (n,),
        retarget_rows (k,) int64 valid rows, new_targets (k, 2) metres, dt seconds > 0.
    """
    for j in range(retarget_rows.shape[0]):
        row = retarget_rows[j]
        target[row, 0] = new_targets[j, 0]
        target[row, 1] = new_targets[j, 1]
    for i in range(alive.shape[0]):
        if alive[i] and wander[i]:
            dx = target[i, 0] - pos[i, 0]
            dy = target[i, 1] - pos[i, 1]
            distance = math.sqrt(dx * dx + dy * dy)
            if distance > 0.0:
                scale = min(speed[i], distance / dt) / distance
                vel[i, 0] = dx * scale
                vel[i, 1] = dy * scale
            else:
                vel[i, 0] = 0.0
                vel[i, 1] = 0.0
            vel[i, 2] = 0.0


@njit(cache=True, nogil=True)
def integrate_positions(pos, vel, alive, dt, half_extent):
    """Advance live rows by ``pos += vel * dt`` and clamp x and y to [-half_extent, half_extent]; z is free.

    Args: pos (n, 3) metres written, vel (n, 3) m/s, alive (n,) bool, dt seconds, half_extent metres.
    """
    for i in range(alive.shape[0]):
        if alive[i]:
            for axis in range(2):
                value = pos[i, axis] + vel[i, axis] * dt
                if value < -half_extent:
                    value = -half_extent
                elif value > half_extent:
                    value = half_extent
                pos[i, axis] = value
            pos[i, 2] = pos[i, 2] + vel[i, 2] * dt
