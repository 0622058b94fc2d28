// Entity interpolation: render the world a little in the past, between two received snapshots.
//
// Snapshots arrive at the tick rate with network jitter; drawing the newest one makes motion stutter.
// Rendering at `render_time - delay` with `delay` about three send intervals (set from Welcome.tick_rate
// by the session) almost always has a snapshot on each side; positions are blended linearly, matched by
// entity id. An entity only in the later snapshot is drawn where it is; one only in the earlier is gone.
// Past the newest snapshot positions are extrapolated along the last interval for at most
// `max_extrapolation` intervals, then held, so a stalled connection freezes the world instead of flinging
// it away. Views are stored as received (shared, quantized); only the two bracketing views are converted
// to metres when sampled. Same behaviour as clients/python/worldloom_client/interpolation.py.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "Worldloom/Snapshot.h"

namespace worldloom {

/** One entity at a sampled time: position in metres (x, y in the ground plane, z up). */
struct EntityPose {
    uint32_t id = 0;
    double x = 0.0, y = 0.0, z = 0.0;
};

/** kind -> entities (ascending id) at the sampled time. */
using InterpolatedWorld = std::map<std::string, std::vector<EntityPose>>;

class InterpolationBuffer {
public:
    /** `delay` seconds behind the sampled time; `capacity` views kept (>= 2); `quantum` metres per unit. */
    explicit InterpolationBuffer(double delay = 0.15, size_t capacity = 32, double quantum = protocol::kPositionQuantum,
                                 double max_extrapolation = 1.0);

    /** Add the view of the world at `server_time` seconds. False if older than the newest (ignored);
     *  the same time as the newest replaces it. */
    bool push(double server_time, SharedView view);
    /** Positions at `render_time - delay` (server seconds). Empty before the first push. */
    InterpolatedWorld sample(double render_time) const;
    void clear();

    size_t size() const { return times_.size(); }
    double delay() const { return delay_; }
    void set_delay(double seconds) { delay_ = seconds < 0 ? 0 : seconds; }
    void set_quantum(double metres) { if (metres > 0) quantum_ = metres; }

private:
    InterpolatedWorld exact(const WorldView& view) const;
    InterpolatedWorld blend(const WorldView& early, const WorldView& late, double alpha) const;

    double delay_;
    size_t capacity_;
    double quantum_;
    double max_extrapolation_;
    std::deque<double> times_;
    std::deque<SharedView> views_;
};

}  // namespace worldloom
