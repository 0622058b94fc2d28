// Input log (see Inputs.h).
#include "Worldloom/Inputs.h"

#include <algorithm>
#include <cmath>

namespace worldloom {

double clamp_axis(double value) {
    if (std::isnan(value)) return 0.0;
    return std::max(-1.0, std::min(1.0, value));
}

protocol::Input InputLog::record(double move_x, double move_y, uint32_t buttons, uint64_t tick) {
    last_seq_ = std::max(last_seq_, acked_) + 1;
    protocol::Input input;
    input.seq = last_seq_;
    input.tick = tick;
    input.move = {clamp_axis(move_x), clamp_axis(move_y)};
    input.buttons = buttons;
    if (pending_.size() >= capacity_) {
        pending_.pop_front();
        ++dropped_;
    }
    pending_.push_back(input);
    return input;
}

size_t InputLog::acknowledge(uint64_t seq) {
    if (seq <= acked_) return 0;
    acked_ = seq;
    size_t removed = 0;
    while (!pending_.empty() && pending_.front().seq <= seq) {
        pending_.pop_front();
        ++removed;
    }
    return removed;
}

std::vector<protocol::Input> InputLog::unacknowledged_after(uint64_t after) {
    acknowledge(after);
    return std::vector<protocol::Input>(pending_.begin(), pending_.end());
}

void InputLog::clear() {
    pending_.clear();
    acked_ = 0;
    last_seq_ = 0;
}

}  // namespace worldloom
