// Input bookkeeping: strictly increasing sequence numbers and the log of inputs not yet applied.
//
// The server applies each Input.seq once, ignores anything not newer than the last it received, and
// reports the last applied seq as Snapshot.input_ack (and the last received as Welcome.last_input on a
// resume). So the client keeps an ordered log of inputs with seq > input_ack, trims it on every ack, and
// resends its tail after a resume. Bounded: a long disconnect drops the oldest (counted in `dropped`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "Worldloom/ProtocolMessages.h"

namespace worldloom {

/** Clamp one movement axis to the wire range [-1, 1]; NaN becomes 0. */
double clamp_axis(double value);

class InputLog {
public:
    explicit InputLog(size_t capacity = 1024) : capacity_(capacity < 1 ? 1 : capacity) {}

    /** The next input (axes clamped) with seq above every earlier seq and the newest ack; remembered. */
    protocol::Input record(double move_x, double move_y, uint32_t buttons, uint64_t tick);
    /** The server applied everything up to `seq`; returns how many inputs were forgotten. */
    size_t acknowledge(uint64_t seq);
    /** Inputs with seq > `after` (oldest first): what to resend after a resume. */
    std::vector<protocol::Input> unacknowledged_after(uint64_t after);
    /** A fresh session: no pending inputs and seq counts from 1 again. */
    void clear();

    uint64_t last_seq() const { return last_seq_; }
    uint64_t acked() const { return acked_; }
    size_t dropped() const { return dropped_; }
    size_t pending() const { return pending_.size(); }

private:
    size_t capacity_;
    uint64_t last_seq_ = 0;
    uint64_t acked_ = 0;
    size_t dropped_ = 0;
    std::deque<protocol::Input> pending_;
};

}  // namespace worldloom
