// Snapshot decoding and reassembly (see Snapshot.h; the reference is protocol/snapshot.py).
#include "Worldloom/Snapshot.h"

#include <algorithm>

namespace worldloom {

long KindView::find(uint32_t id) const {
    auto it = std::lower_bound(ids.begin(), ids.end(), id);
    return (it != ids.end() && *it == id) ? static_cast<long>(it - ids.begin()) : -1;
}

// ---------------------------------------------------------------- columns
bool unpack_column(const protocol::Column& column, std::vector<int64_t>& out, std::string& error) {
    const uint64_t bits = column.bits;
    const uint64_t count = column.count;
    if (bits > 64) {
        error = "column bits " + std::to_string(bits) + " > 64";
        return false;
    }
    const uint64_t expected = (count * bits + 7) / 8;
    if (column.data.size() != expected) {
        error = "column of " + std::to_string(count) + " x " + std::to_string(bits) + " bits needs " +
                std::to_string(expected) + " data bytes, got " + std::to_string(column.data.size());
        return false;
    }
    out.assign(static_cast<size_t>(count), column.base);
    if (bits == 0) return true;
    const uint64_t ubase = static_cast<uint64_t>(column.base);
    const uint8_t* data = column.data.data();
    uint64_t bit = 0;
    for (size_t k = 0; k < out.size(); ++k) {
        uint64_t field = 0;
        uint64_t got = 0;
        while (got < bits) {
            const uint64_t offset = bit & 7;
            const uint64_t take = std::min<uint64_t>(8 - offset, bits - got);
            const uint64_t chunk = (static_cast<uint64_t>(data[bit >> 3]) >> offset) & ((uint64_t(1) << take) - 1);
            field |= chunk << got;
            got += take;
            bit += take;
        }
        out[k] = static_cast<int64_t>(ubase + field);  // wraps modulo 2^64
    }
    return true;
}

protocol::Column pack_column(const std::vector<int64_t>& values) {
    protocol::Column column;
    if (values.empty()) return column;
    const auto bounds = std::minmax_element(values.begin(), values.end());
    const uint64_t ubase = static_cast<uint64_t>(*bounds.first);
    uint64_t span = static_cast<uint64_t>(*bounds.second) - ubase;
    uint64_t bits = 0;
    while (span != 0) {
        span >>= 1;
        ++bits;
    }
    column.base = *bounds.first;
    column.bits = static_cast<uint8_t>(bits);
    column.count = static_cast<uint32_t>(values.size());
    column.data.assign(static_cast<size_t>((values.size() * bits + 7) / 8), 0);
    uint64_t bit = 0;
    for (const int64_t value : values) {
        uint64_t field = static_cast<uint64_t>(value) - ubase;
        uint64_t left = bits;
        while (left > 0) {
            const uint64_t offset = bit & 7;
            const uint64_t take = std::min<uint64_t>(8 - offset, left);
            column.data[bit >> 3] |= static_cast<uint8_t>((field << offset) & 0xff);
            field = take < 64 ? field >> take : 0;
            bit += take;
            left -= take;
        }
    }
    return column;
}

// ---------------------------------------------------------------- blocks
namespace {

const protocol::Column kEmptyColumn{};

bool snapshot_ids_in_range(const std::vector<int64_t>& ids, uint64_t lo, uint64_t hi, const char* what,
                           const std::string& kind, std::string& error) {
    for (size_t k = 0; k < ids.size(); ++k) {
        const bool inside = ids[k] >= 0 && static_cast<uint64_t>(ids[k]) >= lo && static_cast<uint64_t>(ids[k]) < hi;
        if (!inside || (k > 0 && ids[k] <= ids[k - 1])) {
            error = "kind '" + kind + "': " + what + " ids must be ascending, unique and in [" + std::to_string(lo) +
                    ", " + std::to_string(hi) + ")";
            return false;
        }
    }
    return true;
}

/** The entities in [block.lo, block.hi) after applying `block` to `base` (may be null), appended to `out`. */
bool snapshot_apply_block(const protocol::KindBlock& block, const KindView* base, KindView& out, std::string& error) {
    const std::string& kind = block.kind;
    const bool has_changes = block.changes.has_value();
    const protocol::Membership* changes = has_changes ? &*block.changes : nullptr;
    std::vector<int64_t> entered, ex, ey, ez, removed, dx, dy, dz;
    if (!unpack_column(changes ? changes->entered : kEmptyColumn, entered, error) ||
        !unpack_column(changes ? changes->ex : kEmptyColumn, ex, error) ||
        !unpack_column(changes ? changes->ey : kEmptyColumn, ey, error) ||
        !unpack_column(changes ? changes->ez : kEmptyColumn, ez, error) ||
        !unpack_column(changes ? changes->removed : kEmptyColumn, removed, error) ||
        !unpack_column(block.dx, dx, error) || !unpack_column(block.dy, dy, error) ||
        !unpack_column(block.dz, dz, error)) {
        error = "kind '" + kind + "': " + error;
        return false;
    }
    if (ex.size() != entered.size() || ey.size() != entered.size() || ez.size() != entered.size()) {
        error = "kind '" + kind + "': " + std::to_string(entered.size()) + " entered ids but ex/ey/ez counts differ";
        return false;
    }
    if (!snapshot_ids_in_range(entered, block.lo, block.hi, "entered", kind, error) ||
        !snapshot_ids_in_range(removed, block.lo, block.hi, "removed", kind, error)) {
        return false;
    }
    // Baseline rows in [lo, hi).
    size_t first = 0, last = 0;
    if (base != nullptr) {
        first = static_cast<size_t>(std::lower_bound(base->ids.begin(), base->ids.end(), block.lo) - base->ids.begin());
        last = block.hi >= kIdLimit ? base->ids.size()
                                    : static_cast<size_t>(std::lower_bound(base->ids.begin(), base->ids.end(),
                                                                           static_cast<uint32_t>(block.hi)) -
                                                          base->ids.begin());
        last = std::max(first, last);
    }
    // Kept rows: the baseline slice minus `removed` (both ascending).
    std::vector<size_t> kept;
    kept.reserve(last - first);
    size_t r = 0;
    for (size_t row = first; row < last; ++row) {
        const int64_t id = base->ids[row];
        if (r < removed.size() && removed[r] < id) break;  // a removed id not in the baseline
        if (r < removed.size() && removed[r] == id) {
            ++r;
            continue;
        }
        kept.push_back(row);
    }
    if (r != removed.size()) {
        error = "kind '" + kind + "': removed id not in the baseline";
        return false;
    }
    if (dx.size() != kept.size() || dy.size() != kept.size() || dz.size() != kept.size()) {
        error = "kind '" + kind + "': " + std::to_string(kept.size()) + " kept ids but dx/dy/dz counts differ";
        return false;
    }
    // Merge kept (moved by the deltas) and entered, both ascending; an entered id must be new.
    size_t a = 0, e = 0;
    while (a < kept.size() || e < entered.size()) {
        const bool take_kept = e >= entered.size() ||
                               (a < kept.size() && static_cast<int64_t>(base->ids[kept[a]]) < entered[e]);
        if (take_kept) {
            const QPos& q = base->q[kept[a]];
            out.ids.push_back(base->ids[kept[a]]);
            out.q.push_back(QPos{static_cast<int64_t>(static_cast<uint64_t>(q[0]) + static_cast<uint64_t>(dx[a])),
                                 static_cast<int64_t>(static_cast<uint64_t>(q[1]) + static_cast<uint64_t>(dy[a])),
                                 static_cast<int64_t>(static_cast<uint64_t>(q[2]) + static_cast<uint64_t>(dz[a]))});
            ++a;
        } else {
            const uint32_t id = static_cast<uint32_t>(entered[e]);
            if (base != nullptr && base->find(id) >= 0) {
                error = "kind '" + kind + "': entered id already in the baseline";
                return false;
            }
            out.ids.push_back(id);
            out.q.push_back(QPos{ex[e], ey[e], ez[e]});
            ++e;
        }
    }
    return true;
}

}  // namespace

bool apply_blocks(const WorldView* baseline, const std::vector<const protocol::KindBlock*>& blocks,
                  WorldView& out, std::string& error) {
    std::map<std::string, std::vector<const protocol::KindBlock*>> by_kind;
    for (const protocol::KindBlock* block : blocks) {
        if (!(block->lo <= block->hi && block->hi <= kIdLimit)) {
            error = "kind '" + block->kind + "': block range must satisfy 0 <= lo <= hi <= 2**32";
            return false;
        }
        by_kind[block->kind].push_back(block);
    }
    WorldView result;
    for (auto& entry : by_kind) {
        auto& kind_blocks = entry.second;
        std::stable_sort(kind_blocks.begin(), kind_blocks.end(),
                         [](const protocol::KindBlock* x, const protocol::KindBlock* y) { return x->lo < y->lo; });
        const KindView* base = nullptr;
        if (baseline != nullptr) {
            auto it = baseline->find(entry.first);
            if (it != baseline->end()) base = &it->second;
        }
        KindView view;
        uint64_t prev_hi = 0;
        for (const protocol::KindBlock* block : kind_blocks) {
            if (block->lo < prev_hi) {
                error = "kind '" + entry.first + "': overlapping block ranges";
                return false;
            }
            prev_hi = block->hi;
            if (!snapshot_apply_block(*block, base, view, error)) return false;
        }
        result.emplace(entry.first, std::move(view));
    }
    out = std::move(result);
    return true;
}

// ---------------------------------------------------------------- assembler
void SnapshotAssembler::clear() {
    views_.clear();
    pending_.clear();
    latest_.reset();
    latest_tick_ = 0;
    latest_input_ack_ = 0;
    latest_time_ = 0.0;
}

SnapshotAssembler::Result SnapshotAssembler::feed(const protocol::Snapshot& snap, std::string& error) {
    const uint64_t tick = snap.tick;
    if (!(snap.part < snap.parts)) {
        error = "snapshot part " + std::to_string(snap.part) + " of " + std::to_string(snap.parts) + " out of range";
        return Result::Failed;
    }
    if (latest_ && tick <= latest_tick_) return Result::Ignored;
    if (snap.baseline != 0 && (snap.baseline >= tick || views_.count(snap.baseline) == 0)) {
        pending_.erase(tick);
        error = "snapshot " + std::to_string(tick) + ": unknown baseline tick " + std::to_string(snap.baseline);
        return Result::Failed;
    }
    auto it = pending_.find(tick);
    if (it == pending_.end()) {
        Pending fresh;
        fresh.baseline = snap.baseline;
        fresh.parts = snap.parts;
        fresh.input_ack = snap.input_ack;
        fresh.time = snap.time;
        it = pending_.emplace(tick, std::move(fresh)).first;
        while (pending_.size() > kMaxPending) pending_.erase(pending_.begin());
        it = pending_.find(tick);
        if (it == pending_.end()) return Result::Pending;  // older than every held tick: dropped at once
    } else if (it->second.baseline != snap.baseline || it->second.parts != snap.parts ||
               it->second.input_ack != snap.input_ack || it->second.time != snap.time ||
               it->second.received.count(snap.part) != 0) {
        pending_.erase(it);
        error = "snapshot " + std::to_string(tick) + ": parts disagree or repeat";
        return Result::Failed;
    }
    it->second.received[snap.part] = snap.blocks;
    if (it->second.received.size() < it->second.parts) return Result::Pending;

    Pending done = std::move(it->second);
    pending_.erase(it);
    std::vector<const protocol::KindBlock*> blocks;
    for (const auto& part : done.received) {
        for (const auto& block : part.second) blocks.push_back(&block);
    }
    const WorldView* baseline = done.baseline != 0 ? views_[done.baseline].get() : nullptr;
    auto view = std::make_shared<WorldView>();
    if (!apply_blocks(baseline, blocks, *view, error)) {
        error = "snapshot " + std::to_string(tick) + ": " + error;
        return Result::Failed;
    }
    views_[tick] = view;
    while (views_.size() > history_) views_.erase(views_.begin());
    pending_.erase(pending_.begin(), pending_.lower_bound(tick));
    latest_ = view;
    latest_tick_ = tick;
    latest_input_ack_ = done.input_ack;
    latest_time_ = done.time;
    return Result::Completed;
}

}  // namespace worldloom
