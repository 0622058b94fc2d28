// Snapshot decoding: frame-of-reference bit-packed columns, applying KindBlocks to a baseline view, and
// reassembling the parts of a tick against the acknowledged baselines (docs/protocol.md, "Snapshots").
//
// Why this shape: it mirrors the reference `protocol/snapshot.py` step for step (unpack each column,
// slice the baseline to [lo, hi), drop `removed`, add deltas, merge `entered`), so the golden vectors
// pin it down. Views are immutable and shared (`std::shared_ptr<const WorldView>`): the assembler's
// baseline history and the interpolation buffer hold the same views without copying them.
// Every check returns false with a reason; a failed tick is dropped, not acked (the server then falls
// back to a full snapshot), and the connection stays.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "Worldloom/ProtocolMessages.h"

namespace worldloom {

/** Quantized position (x, y, z) in units of Welcome.quantum metres; z is up. */
using QPos = std::array<int64_t, 3>;

/** The entities of one kind: `ids` ascending and unique, `q[k]` the position of `ids[k]`. */
struct KindView {
    std::vector<uint32_t> ids;
    std::vector<QPos> q;

    size_t size() const { return ids.size(); }
    /** Row of `id`, or -1. */
    long find(uint32_t id) const;
    bool operator==(const KindView& o) const { return ids == o.ids && q == o.q; }
};

/** Every kind a client sees, by wire kind name. */
using WorldView = std::map<std::string, KindView>;
using SharedView = std::shared_ptr<const WorldView>;

constexpr uint64_t kIdLimit = uint64_t(1) << 32;

/** Unpack a column into `count` int64 values; false (with `error`) when `data` has the wrong length. */
bool unpack_column(const protocol::Column& column, std::vector<int64_t>& out, std::string& error);

/** Pack values as `base = min`, `bits = bit_length(max - min)` (mod 2^64), LSB-first little-endian. */
protocol::Column pack_column(const std::vector<int64_t>& values);

/** Apply every block of one snapshot (all parts) to `baseline` (null: the empty view). The result has
 *  exactly the kinds with blocks. False (with `error`) for any rule of docs/protocol.md broken. */
bool apply_blocks(const WorldView* baseline, const std::vector<const protocol::KindBlock*>& blocks,
                  WorldView& out, std::string& error);

/** Reassembles snapshot parts into views and remembers recent views as delta baselines. */
class SnapshotAssembler {
public:
    enum class Result {
        Pending,    // part stored, the tick is not complete yet
        Completed,  // the tick is complete: `latest()` is its view; send Ack(latest_tick())
        Ignored,    // a part of a tick not newer than the latest completed one
        Failed      // the part or its tick is unusable (see `error`); do not ack, keep going
    };

    static constexpr size_t kMaxPending = 4;

    explicit SnapshotAssembler(size_t history = 64) : history_(history < 1 ? 1 : history) {}

    Result feed(const protocol::Snapshot& snap, std::string& error);

    uint64_t latest_tick() const { return latest_tick_; }
    const SharedView& latest() const { return latest_; }
    /** The completed snapshot's input_ack and time. */
    uint64_t latest_input_ack() const { return latest_input_ack_; }
    double latest_time() const { return latest_time_; }
    void clear();

private:
    struct Pending {
        uint64_t baseline = 0;
        uint32_t parts = 1;
        uint64_t input_ack = 0;
        double time = 0.0;
        std::map<uint32_t, std::vector<protocol::KindBlock>> received;
    };

    size_t history_;
    std::map<uint64_t, SharedView> views_;
    std::map<uint64_t, Pending> pending_;
    SharedView latest_;
    uint64_t latest_tick_ = 0;
    uint64_t latest_input_ack_ = 0;
    double latest_time_ = 0.0;
};

}  // namespace worldloom
