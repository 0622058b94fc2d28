"""Acting kernels: decision inputs from state, where each action goes, movement and what happens at the target.

All arrays are indexed by NPC row. Each kernel body is compiled as ``*_serial`` and ``*_parallel``
(``variants.serial_and_parallel``); a row writes only its own outputs, so both agree exactly. Distances use
``sqrt(dx*dx + dy*dy)`` (``math.hypot`` guards against overflow nobody needs at world scale and costs 3x).
Positions are metres, times in-game hours unless stated.
"""

from __future__ import annotations

import math

from numba import njit, prange

from .variants import serial_and_parallel

# TARGETS order in npc.designs: none, home, work, market, tavern, threat, away, patrol, friend, player
T_NONE, T_HOME, T_WORK, T_MARKET, T_TAVERN, T_THREAT, T_AWAY, T_PATROL, T_FRIEND, T_PLAYER = range(10)
# VERBS order in npc.designs: idle, rest, eat, work, sell, socialise, patrol, attack, flee, steal, wander
V_IDLE, V_REST, V_EAT, V_WORK, V_SELL, V_SOCIALISE, V_PATROL, V_ATTACK, V_FLEE, V_STEAL, V_WANDER = range(11)

DISTANCE_SCALE = 150.0
"""``distance.*`` inputs are metres / this, capped at 1."""


def _assemble_inputs(needs, alive, threat_dist, sight, player_dist, health, max_health, coins, carry, capacity,
                     daylight, hour, crowd, rumour, hostile, xy, places, out):
    """Fill the (n, K + 14) float32 decision inputs: the K needs, then ``npc.designs.CONTEXT_INPUTS`` in order.

    Args:
        needs (n, K) float32 in [0, 1]; threat_dist, player_dist (n,) metres (far: none in sight);
        sight (n,) metres; health, max_health, coins, carry (n,) float64; capacity (n,) float64 units;
        daylight in [0, 1]; hour in [0, 24); crowd (n,) int64 neighbours; rumour (n,) float32 salience;
        hostile (n,) bool; xy (n, 2); places (n, 4, 2) home, work, market, tavern positions.
    """
    n, k = needs.shape
    for i in prange(n):
        if not alive[i]:
            continue
        for j in range(k):
            out[i, j] = needs[i, j]
        r = max(sight[i], 1e-6)
        out[i, k] = max(0.0, 1.0 - threat_dist[i] / r) if threat_dist[i] < r else 0.0
        out[i, k + 1] = max(0.0, 1.0 - player_dist[i] / r) if player_dist[i] < r else 0.0
        out[i, k + 2] = min(max(health[i] / max(max_health[i], 1e-6), 0.0), 1.0)
        out[i, k + 3] = min(max(coins[i] / 100.0, 0.0), 1.0)
        out[i, k + 4] = min(max(carry[i] / max(capacity[i], 1e-6), 0.0), 1.0)
        out[i, k + 5] = daylight
        out[i, k + 6] = hour / 24.0
        out[i, k + 7] = min(crowd[i] / 8.0, 1.0)
        out[i, k + 8] = min(max(rumour[i], 0.0), 1.0)
        out[i, k + 9] = 1.0 if hostile[i] else 0.0
        x, y = xy[i, 0], xy[i, 1]
        for p in range(4):
            dx, dy = places[i, p, 0] - x, places[i, p, 1] - y
            out[i, k + 10 + p] = min(math.sqrt(dx * dx + dy * dy) / DISTANCE_SCALE, 1.0)


assemble_inputs_serial, assemble_inputs_parallel = serial_and_parallel(_assemble_inputs)


def _choose_targets(action, alive, action_target, action_verb, xy, places, patrol, patrol_index, threat_xy,
                    has_threat, partner_xy, has_partner, player_xy, has_player, wander_goal, flee_distance,
                    half_extent, out_target, out_lost):
    """Where each NPC is heading for its action (``out_target`` (n, 2) metres).

    ``places`` (n, 4, 2) home/work/market/tavern; ``patrol`` (n, P, 2) waypoints visited in turn
    (``patrol_index`` (n,)); ``threat_xy``/``partner_xy``/``player_xy`` (n, 2) with (n,) presence flags;
    ``wander_goal`` (n, 2). ``away`` points ``flee_distance`` metres from the threat, straight away from it.
    A missing subject sets ``out_lost`` (n,) bool: no threat in sight sends the NPC to its town centre
    (where people are); no partner or player keeps it where it stands. A lost NPC's action does not happen.
    """
    for i in prange(action.shape[0]):
        out_lost[i] = False
        if not alive[i] or action[i] < 0:
            continue
        a = action[i]
        t = action_target[a]
        x, y = xy[i, 0], xy[i, 1]
        tx, ty = x, y
        if action_verb[a] == V_WANDER:
            tx, ty = wander_goal[i, 0], wander_goal[i, 1]
        elif t == T_HOME or t == T_WORK or t == T_MARKET or t == T_TAVERN:
            tx, ty = places[i, t - 1, 0], places[i, t - 1, 1]
        elif t == T_THREAT:
            if has_threat[i]:
                tx, ty = threat_xy[i, 0], threat_xy[i, 1]
            else:  # nobody in sight: head for the town centre, where people are
                tx, ty = places[i, 2, 0], places[i, 2, 1]
                out_lost[i] = True
        elif t == T_AWAY and has_threat[i]:
            dx, dy = x - threat_xy[i, 0], y - threat_xy[i, 1]
            d = math.sqrt(dx * dx + dy * dy)
            if d < 1e-9:
                dx, dy, d = 1.0, 0.0, 1.0
            tx, ty = x + dx / d * flee_distance, y + dy / d * flee_distance
        elif t == T_PATROL and patrol.shape[1] > 0:
            p = patrol_index[i] % patrol.shape[1]
            tx, ty = patrol[i, p, 0], patrol[i, p, 1]
        elif t == T_FRIEND:
            if has_partner[i]:
                tx, ty = partner_xy[i, 0], partner_xy[i, 1]
            else:
                out_lost[i] = True
        elif t == T_PLAYER:
            if has_player[i]:
                tx, ty = player_xy[i, 0], player_xy[i, 1]
            else:
                out_lost[i] = True
        out_target[i, 0] = min(max(tx, -half_extent), half_extent)
        out_target[i, 1] = min(max(ty, -half_extent), half_extent)


choose_targets_serial, choose_targets_parallel = serial_and_parallel(_choose_targets)


def _move_and_act(action, alive, action_verb, action_target, effects, xy, target, lost, speed, arrive, needs, decay,
                  hours, carry, capacity, work_rate, vel, at_target, worked):
    """Steer towards the target and apply the action where it happens.

    Velocity (n, 3) m/s points at the target at the NPC's speed until it is within ``arrive`` metres. At the
    target (or anywhere, for actions without a place: none/away/patrol), unless ``lost`` (n,) bool, the action's
    ``effects`` (A, K) per hour change the needs; every need also decays by ``decay`` (K,) per hour; needs
    stay in [0, 1]. A working NPC at work adds ``work_rate`` units/hour to ``carry`` up to ``capacity``;
    ``worked`` (n,) receives the units made this call. ``at_target`` (n,) bool out.
    """
    n, k = needs.shape
    for i in prange(n):
        worked[i] = 0.0
        at_target[i] = False
        if not alive[i]:
            continue
        a = action[i]
        if a < 0:
            for j in range(k):
                needs[i, j] = min(max(needs[i, j] - decay[j] * hours, 0.0), 1.0)
            continue
        dx, dy = target[i, 0] - xy[i, 0], target[i, 1] - xy[i, 1]
        d = math.sqrt(dx * dx + dy * dy)
        t = action_target[a]
        placed = t != T_NONE and t != T_AWAY and t != T_PATROL
        if d > arrive:
            vel[i, 0] = dx / d * speed[i]
            vel[i, 1] = dy / d * speed[i]
        else:
            vel[i, 0] = 0.0
            vel[i, 1] = 0.0
        vel[i, 2] = 0.0
        here = (d <= arrive or not placed) and not lost[i]
        at_target[i] = here
        for j in range(k):
            v = needs[i, j] - decay[j] * hours
            if here:
                v += effects[a, j] * hours
            needs[i, j] = min(max(v, 0.0), 1.0)
        if here and action_verb[a] == V_WORK and t == T_WORK:
            room = max(capacity[i] - carry[i], 0.0)
            made = min(work_rate * hours, room)
            carry[i] += made
            worked[i] = made


move_and_act_serial, move_and_act_parallel = serial_and_parallel(_move_and_act)


@njit(cache=True, nogil=True)
def lock_state(action, since, duration_ticks, tick, threat, interrupt, locked):
    """``locked`` (n,) bool: still inside the current action's commitment and not interrupted by a threat
    input >= ``interrupt``. ``since`` (n,) tick the action began; ``duration_ticks`` (A,) int64."""
    for i in range(action.shape[0]):
        a = action[i]
        locked[i] = a >= 0 and tick - since[i] < duration_ticks[a] and threat[i] < interrupt
