// Interpolation buffer (see Interpolation.h).
#include "Worldloom/Interpolation.h"

#include <algorithm>

namespace worldloom {

InterpolationBuffer::InterpolationBuffer(double delay, size_t capacity, double quantum, double max_extrapolation)
    : delay_(delay < 0 ? 0 : delay),
      capacity_(capacity < 2 ? 2 : capacity),
      quantum_(quantum > 0 ? quantum : protocol::kPositionQuantum),
      max_extrapolation_(max_extrapolation < 0 ? 0 : max_extrapolation) {}

bool InterpolationBuffer::push(double server_time, SharedView view) {
    if (!times_.empty() && server_time <= times_.back()) {
        if (server_time == times_.back()) {
            views_.back() = std::move(view);
            return true;
        }
        return false;
    }
    times_.push_back(server_time);
    views_.push_back(std::move(view));
    while (times_.size() > capacity_) {
        times_.pop_front();
        views_.pop_front();
    }
    return true;
}

void InterpolationBuffer::clear() {
    times_.clear();
    views_.clear();
}

InterpolatedWorld InterpolationBuffer::sample(double render_time) const {
    if (times_.empty()) return {};
    const double t = render_time - delay_;
    const size_t n = times_.size();
    // i: the last index with times_[i] <= t (or none).
    const auto upper = std::upper_bound(times_.begin(), times_.end(), t);
    if (upper == times_.begin()) return exact(*views_.front());
    const size_t i = static_cast<size_t>(upper - times_.begin()) - 1;
    if (i == n - 1) {
        if (t == times_[i] || n == 1) return exact(*views_.back());
        const double interval = times_[n - 1] - times_[n - 2];
        const double ahead = std::min((t - times_[n - 1]) / interval, max_extrapolation_);
        return blend(*views_[n - 2], *views_[n - 1], 1.0 + ahead);
    }
    if (t == times_[i]) return exact(*views_[i]);
    const double alpha = (t - times_[i]) / (times_[i + 1] - times_[i]);
    return blend(*views_[i], *views_[i + 1], alpha);
}

InterpolatedWorld InterpolationBuffer::exact(const WorldView& view) const {
    InterpolatedWorld out;
    for (const auto& entry : view) {
        std::vector<EntityPose>& poses = out[entry.first];
        const KindView& kv = entry.second;
        poses.resize(kv.size());
        for (size_t k = 0; k < kv.size(); ++k) {
            poses[k] = EntityPose{kv.ids[k], kv.q[k][0] * quantum_, kv.q[k][1] * quantum_, kv.q[k][2] * quantum_};
        }
    }
    return out;
}

InterpolatedWorld InterpolationBuffer::blend(const WorldView& early, const WorldView& late, double alpha) const {
    InterpolatedWorld out = exact(late);
    for (auto& entry : out) {
        auto before = early.find(entry.first);
        if (before == early.end()) continue;
        const KindView& a = before->second;
        for (EntityPose& pose : entry.second) {
            const long row = a.find(pose.id);
            if (row < 0) continue;  // just appeared: drawn where it is
            const QPos& q = a.q[static_cast<size_t>(row)];
            const double sx = q[0] * quantum_, sy = q[1] * quantum_, sz = q[2] * quantum_;
            pose.x = sx + (pose.x - sx) * alpha;
            pose.y = sy + (pose.y - sy) * alpha;
            pose.z = sz + (pose.z - sz) * alpha;
        }
    }
    return out;
}

}  // namespace worldloom
