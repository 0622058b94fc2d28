// Tests of the portable C++17 core against the golden vectors (protocol/vectors/, see its README.md)
// plus sans-I/O session, interpolation and bad-input tests. No engine, no sockets.
//
//   core_tests VECTORS_DIR            run every test; prints "N passed, N failed"; exit 1 on a failure
//   core_tests --classify             read frames from stdin ([u32 little-endian length][bytes] ...) and
//                                     print one line per frame: "ok TAG", "malformed" or "invalid"
//                                     (the Python test compares this with the reference decoder)
#include <cmath>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "Worldloom/ClientSession.h"
#include "Worldloom/Interpolation.h"
#include "Worldloom/MsgPack.h"
#include "Worldloom/ProtocolMessages.h"
#include "Worldloom/Snapshot.h"

using json = nlohmann::json;
using namespace worldloom;

namespace {

int g_passed = 0;
int g_failed = 0;
std::string g_test;

void expect(bool ok, const std::string& what) {
    if (ok) return;
    ++g_failed;
    std::cerr << "FAIL [" << g_test << "] " << what << "\n";
}

#define EXPECT(cond) expect((cond), #cond)
#define EXPECT_MSG(cond, msg)                                \
    do {                                                     \
        const bool ok_ = (cond);                             \
        expect(ok_, std::string(#cond) + ": " + (msg));      \
    } while (0)

template <typename F>
void run(const std::string& name, F body) {
    g_test = name;
    const int before = g_failed;
    body();
    if (g_failed == before) ++g_passed;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> list_dir(const std::string& dir, const std::string& suffix) {
    std::vector<std::string> names;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
                names.push_back(n.substr(0, n.size() - suffix.size()));
            }
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string base64_decode(const std::string& in) {
    static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t acc = 0;
    int nbits = 0;
    for (char c : in) {
        if (c == '=') break;
        const size_t v = chars.find(c);
        if (v == std::string::npos) continue;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out.push_back(static_cast<char>((acc >> nbits) & 0xff));
        }
    }
    return out;
}

Bytes from_hex(const std::string& hex) {
    Bytes out;
    for (size_t k = 0; k + 1 < hex.size(); k += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(k, 2), nullptr, 16)));
    return out;
}

std::string to_hex(const Bytes& b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint8_t x : b) {
        s.push_back(digits[x >> 4]);
        s.push_back(digits[x & 15]);
    }
    return s;
}

/** Field-by-field comparison of a MessagePack value with the JSON form of the vectors. */
bool same(const msgpack::Value& v, const json& j, const std::string& path, std::string& why) {
    using T = msgpack::Value::Type;
    auto differ = [&](const std::string& what) {
        why = path + ": " + what + " (json " + j.dump() + ")";
        return false;
    };
    if (j.is_null()) return v.type == T::Nil || differ("expected nil");
    if (j.is_boolean()) return (v.type == T::Bool && v.boolean == j.get<bool>()) || differ("bool differs");
    if (j.is_number_unsigned()) {
        const uint64_t u = j.get<uint64_t>();
        if (v.type == T::UInt) return v.u == u || differ("uint differs");
        return (v.type == T::Int && v.i >= 0 && static_cast<uint64_t>(v.i) == u) || differ("int differs");
    }
    if (j.is_number_integer()) return (v.type == T::Int && v.i == j.get<int64_t>()) || differ("int differs");
    if (j.is_number_float()) return (v.type == T::Float && v.f == j.get<double>()) || differ("float differs");
    if (j.is_string()) {
        if (v.type == T::Str) return v.s == j.get<std::string>() || differ("str differs");
        if (v.type == T::Bin) return v.s == base64_decode(j.get<std::string>()) || differ("bytes differ");
        return differ("expected str or bytes");
    }
    if (j.is_array()) {
        if (v.type != T::Array || v.items.size() != j.size()) return differ("array length/type differs");
        for (size_t k = 0; k < j.size(); ++k) {
            if (!same(v.items[k], j[k], path + "[" + std::to_string(k) + "]", why)) return false;
        }
        return true;
    }
    if (j.is_object()) {
        if (v.type != T::Map || v.map_size() != j.size()) return differ("map size/type differs");
        for (auto it = j.begin(); it != j.end(); ++it) {
            const msgpack::Value* field = v.find(it.key());
            if (field == nullptr) return differ("missing key " + it.key());
            if (!same(*field, it.value(), path + "." + it.key(), why)) return false;
        }
        return true;
    }
    return differ("unsupported json");
}

template <typename Variant>
Bytes encode_any(const Variant& message) {
    return std::visit([](const auto& m) { return protocol::encode(m); }, message);
}

template <typename Variant>
const char* tag_of(const Variant& message) {
    return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kTag; }, message);
}

bool decode_frame(const std::string& direction, const Bytes& frame, Bytes& reencoded, std::string& tag,
                  protocol::DecodeFailure& failure) {
    if (direction == "client") {
        protocol::ClientMessage m;
        if (!protocol::decode_client(frame.data(), frame.size(), m, failure)) return false;
        reencoded = encode_any(m);
        tag = tag_of(m);
        return true;
    }
    protocol::ServerMessage m;
    if (!protocol::decode_server(frame.data(), frame.size(), m, failure)) return false;
    reencoded = encode_any(m);
    tag = tag_of(m);
    return true;
}

protocol::Snapshot load_snapshot(const std::string& dir, const std::string& name) {
    const std::string raw = read_file(dir + "/" + name + ".msgpack");
    protocol::ServerMessage m;
    protocol::DecodeFailure failure;
    expect(protocol::decode_server(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), m, failure),
           "decode " + name + ": " + failure.message);
    const auto* snap = std::get_if<protocol::Snapshot>(&m);
    return snap ? *snap : protocol::Snapshot{};
}

WorldView view_from_json(const json& kinds) {
    WorldView view;
    for (auto it = kinds.begin(); it != kinds.end(); ++it) {
        KindView kv;
        for (const auto& id : it.value()["ids"]) kv.ids.push_back(id.get<uint32_t>());
        for (const auto& q : it.value()["q"]) kv.q.push_back(QPos{q[0].get<int64_t>(), q[1].get<int64_t>(), q[2].get<int64_t>()});
        view[it.key()] = kv;
    }
    return view;
}

void expect_view(const WorldView& got, const json& kinds, const std::string& what) {
    const WorldView want = view_from_json(kinds);
    expect(got == want, what + ": view (ids/q) differs from the .view.json");
    for (auto it = kinds.begin(); it != kinds.end(); ++it) {
        auto g = got.find(it.key());
        if (g == got.end()) continue;
        const json& metres = it.value()["metres"];
        for (size_t k = 0; k < metres.size() && k < g->second.q.size(); ++k) {
            for (int axis = 0; axis < 3; ++axis) {
                expect(g->second.q[k][axis] * protocol::kPositionQuantum == metres[k][axis].get<double>(),
                       what + ": metres differ");
            }
        }
    }
}

// ---------------------------------------------------------------- golden vectors
void test_vectors(const std::string& dir) {
    const auto names = list_dir(dir, ".msgpack");
    run("vectors present", [&] { EXPECT_MSG(names.size() >= 40, std::to_string(names.size()) + " vectors"); });
    for (const std::string& name : names) {
        run("vector " + name, [&] {
            const json doc = json::parse(read_file(dir + "/" + name + ".json"));
            const std::string raw = read_file(dir + "/" + name + ".msgpack");
            const Bytes frame(raw.begin(), raw.end());
            Bytes reencoded;
            std::string tag;
            protocol::DecodeFailure failure;
            const std::string direction = doc["direction"].get<std::string>();
            if (!decode_frame(direction, frame, reencoded, tag, failure)) {
                expect(false, "decode failed: " + failure.message);
                return;
            }
            EXPECT_MSG(tag == doc["type"].get<std::string>(), tag);
            msgpack::Value decoded;
            std::string err, why;
            EXPECT(msgpack::parse(reencoded.data(), reencoded.size(), decoded, err));
            EXPECT_MSG(same(decoded, doc["message"], "$", why), why);
            if (!doc.value("decode_only", false)) {
                EXPECT_MSG(reencoded == frame, "re-encoded " + to_hex(reencoded) + " != " + to_hex(frame));
            }
        });
    }
}

void test_columns(const std::string& dir) {
    for (const std::string& name : list_dir(dir, ".json")) {
        if (name.rfind("column_", 0) != 0) continue;
        run(name, [&] {
            const json doc = json::parse(read_file(dir + "/" + name + ".json"));
            std::vector<int64_t> values;
            for (const auto& v : doc["values"]) values.push_back(v.get<int64_t>());
            protocol::Column column;
            column.base = doc["base"].get<int64_t>();
            column.bits = doc["bits"].get<uint8_t>();
            column.count = doc["count"].get<uint32_t>();
            column.data = from_hex(doc["data"].get<std::string>());
            std::vector<int64_t> unpacked;
            std::string error;
            EXPECT_MSG(unpack_column(column, unpacked, error), error);
            EXPECT(unpacked == values);
            const protocol::Column packed = pack_column(values);
            EXPECT(packed.base == column.base && packed.bits == column.bits && packed.count == column.count);
            EXPECT(packed.data == column.data);
            msgpack::Writer w;
            protocol::write(w, packed);
            EXPECT_MSG(to_hex(w.bytes()) == doc["msgpack"].get<std::string>(), to_hex(w.bytes()));
        });
    }
    run("column with wrong data length is refused", [] {
        protocol::Column c;
        c.bits = 3;
        c.count = 5;
        c.data = {0x58};
        std::vector<int64_t> out;
        std::string error;
        EXPECT(!unpack_column(c, out, error));
        EXPECT(!error.empty());
    });
}

void test_views(const std::string& dir) {
    for (const std::string& name : list_dir(dir, ".view.json")) {
        run("view " + name, [&] {
            const json doc = json::parse(read_file(dir + "/" + name + ".view.json"));
            WorldView baseline;
            const bool has_baseline = !doc["baseline_vector"].is_null();
            if (has_baseline) {
                const json base = json::parse(read_file(dir + "/" + doc["baseline_vector"].get<std::string>() + ".view.json"));
                baseline = view_from_json(base["kinds"]);
            }
            std::vector<protocol::Snapshot> parts;
            for (const auto& part : doc["parts"]) parts.push_back(load_snapshot(dir, part.get<std::string>()));
            std::vector<const protocol::KindBlock*> blocks;
            for (const auto& snap : parts) {
                for (const auto& block : snap.blocks) blocks.push_back(&block);
            }
            WorldView got;
            std::string error;
            EXPECT_MSG(apply_blocks(has_baseline ? &baseline : nullptr, blocks, got, error), error);
            expect_view(got, doc["kinds"], name);
        });
    }
    run("assembler chain full -> delta -> kind_gone", [&] {
        SnapshotAssembler assembler;
        std::string error;
        for (const char* name : {"snapshot_full", "snapshot_delta", "snapshot_kind_gone"}) {
            const protocol::Snapshot snap = load_snapshot(dir, name);
            EXPECT_MSG(assembler.feed(snap, error) == SnapshotAssembler::Result::Completed, name + std::string(": ") + error);
            EXPECT(assembler.latest_tick() == snap.tick);
            const json doc = json::parse(read_file(dir + "/" + name + ".view.json"));
            expect_view(*assembler.latest(), doc["kinds"], name);
            // A repeated part of a completed tick is ignored.
            EXPECT(assembler.feed(snap, error) == SnapshotAssembler::Result::Ignored);
        }
    });
    run("assembler split parts in reverse order", [&] {
        SnapshotAssembler assembler;
        std::string error;
        const json doc = json::parse(read_file(dir + "/snapshot_split.view.json"));
        std::vector<std::string> names;
        for (const auto& part : doc["parts"]) names.push_back(part.get<std::string>());
        for (size_t k = names.size(); k-- > 0;) {
            const auto result = assembler.feed(load_snapshot(dir, names[k]), error);
            EXPECT(result == (k == 0 ? SnapshotAssembler::Result::Completed : SnapshotAssembler::Result::Pending));
        }
        if (assembler.latest()) expect_view(*assembler.latest(), doc["kinds"], "snapshot_split");
        EXPECT(assembler.latest_tick() == doc["tick"].get<uint64_t>());
    });
    run("assembler refuses an unknown baseline and a repeated part", [&] {
        SnapshotAssembler assembler;
        std::string error;
        EXPECT(assembler.feed(load_snapshot(dir, "snapshot_delta"), error) == SnapshotAssembler::Result::Failed);
        EXPECT(error.find("unknown baseline") != std::string::npos);
        const protocol::Snapshot part = load_snapshot(dir, "snapshot_split.part1");
        EXPECT(assembler.feed(part, error) == SnapshotAssembler::Result::Pending);
        EXPECT(assembler.feed(part, error) == SnapshotAssembler::Result::Failed);
    });
}

void test_schema_hash(const std::string& dir) {
    run("hard-coded SCHEMA_HASH matches hello.json", [&] {
        const json doc = json::parse(read_file(dir + "/hello.json"));
        EXPECT(doc["message"]["schema"].get<std::string>() == protocol::kSchemaHash);
        EXPECT(doc["message"]["protocol"].get<int>() == protocol::kProtocolVersion);
    });
}

// ---------------------------------------------------------------- bad input
protocol::DecodeFailure refuse(const Bytes& frame) {
    protocol::ServerMessage m;
    protocol::DecodeFailure failure;
    const bool ok = protocol::decode_server(frame.data(), frame.size(), m, failure);
    expect(!ok, "frame " + to_hex(frame) + " should be refused");
    return failure;
}

void test_bad_input(const std::string& dir) {
    run("truncated, trailing, reserved and ext bytes are MALFORMED", [] {
        for (const char* hex : {"", "82a174", "c0c0", "c1", "d40000", "a2c328"}) {
            const auto f = refuse(from_hex(hex));
            expect(f.code == protocol::ErrorCode::Malformed, std::string(hex) + ": " + f.message);
        }
    });
    run("deep nesting is MALFORMED, not a crash", [] {
        Bytes deep(100000, 0x91);
        deep.push_back(0xc0);
        EXPECT(refuse(deep).code == protocol::ErrorCode::Malformed);
    });
    run("huge declared lengths are refused without allocating", [] {
        EXPECT(refuse(from_hex("dfffffffff")).code == protocol::ErrorCode::Malformed);
        EXPECT(refuse(from_hex("ddffffffff")).code == protocol::ErrorCode::Malformed);
        EXPECT(refuse(from_hex("c6ffffffff")).code == protocol::ErrorCode::Malformed);
    });
    run("schema violations are INVALID and name the path", [] {
        msgpack::Writer w;
        w.write_map_header(1);
        w.write_str("t");
        w.write_str("zzz");
        auto f = refuse(w.take());
        EXPECT(f.code == protocol::ErrorCode::Invalid);
        EXPECT_MSG(f.message == "Invalid value 'zzz' - at `$.t`", f.message);
        EXPECT(refuse(from_hex("93010203")).code == protocol::ErrorCode::Invalid);  // not a map
        protocol::Snapshot snap;
        snap.tick = 5;
        snap.part = 7;  // >= parts, but in range for the decoder; out of range below
        msgpack::Writer w2;
        w2.write_map_header(6);
        for (const char* k : {"t"}) w2.write_str(k);
        w2.write_str("snap");
        w2.write_str("tick"); w2.write_uint(1);
        w2.write_str("baseline"); w2.write_uint(0);
        w2.write_str("input_ack"); w2.write_uint(0);
        w2.write_str("time"); w2.write_double(0.0);
        w2.write_str("part"); w2.write_uint(5000);
        f = refuse(w2.take());
        EXPECT_MSG(f.message == "Expected `int` <= 4095 - at `$.part`", f.message);
        msgpack::Writer w3;
        w3.write_map_header(2);
        w3.write_str("t"); w3.write_str("ack");
        w3.write_str("tick"); w3.write_double(1.0);
        EXPECT(refuse(w3.take()).code == protocol::ErrorCode::Invalid);  // a float where an int belongs
    });
    run("mutated vectors never crash the decoder", [&] {
        uint64_t state = 0x9E3779B97F4A7C15ULL;  // fixed seed: the same mutations on every run
        auto next = [&state]() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            return state;
        };
        size_t decoded = 0, refused = 0;
        for (const std::string& name : list_dir(dir, ".msgpack")) {
            const std::string raw = read_file(dir + "/" + name + ".msgpack");
            for (int round = 0; round < 200; ++round) {
                Bytes frame(raw.begin(), raw.end());
                const int edits = 1 + static_cast<int>(next() % 4);
                for (int e = 0; e < edits && !frame.empty(); ++e) {
                    const size_t at = next() % frame.size();
                    switch (next() % 3) {
                        case 0: frame[at] = static_cast<uint8_t>(next()); break;
                        case 1: frame.erase(frame.begin() + static_cast<long>(at)); break;
                        default: frame.insert(frame.begin() + static_cast<long>(at), static_cast<uint8_t>(next())); break;
                    }
                }
                protocol::ServerMessage m;
                protocol::DecodeFailure failure;
                if (protocol::decode_server(frame.data(), frame.size(), m, failure)) {
                    ++decoded;
                    if (auto* snap = std::get_if<protocol::Snapshot>(&m)) {
                        SnapshotAssembler assembler;  // applying hostile blocks must fail cleanly too
                        std::string error;
                        assembler.feed(*snap, error);
                    }
                } else {
                    ++refused;
                    EXPECT(!failure.message.empty());
                }
            }
        }
        EXPECT(decoded > 0 && refused > 0);
    });
}

// ---------------------------------------------------------------- session (sans-I/O)
protocol::ClientMessage client_frame(const Bytes& frame) {
    protocol::ClientMessage m;
    protocol::DecodeFailure failure;
    expect(protocol::decode_client(frame.data(), frame.size(), m, failure), "client frame: " + failure.message);
    return m;
}

protocol::Welcome make_welcome(bool resumed, uint64_t last_input) {
    protocol::Welcome w;
    w.session = "s-1";
    w.resume = "resume-token";
    w.tick_rate = 20;
    w.tick = 10;
    w.server_time = 100.0;
    w.entity = 5;
    w.protocol = protocol::kProtocolVersion;
    w.schema = protocol::kSchemaHash;
    w.resumed = resumed;
    w.last_input = last_input;
    return w;
}

template <typename M>
void deliver(ClientSession& s, const M& message, double now) {
    const Bytes frame = protocol::encode(message);
    s.frame_received(frame.data(), frame.size(), now);
}

protocol::Snapshot full_snapshot(uint64_t tick, const std::vector<int64_t>& ids, const std::vector<int64_t>& xs) {
    protocol::Snapshot snap;
    snap.tick = tick;
    snap.time = 100.0 + tick * 0.05;
    protocol::KindBlock block;
    block.kind = "player";
    block.lo = 0;
    block.hi = kIdLimit;
    protocol::Membership m;
    m.entered = pack_column(ids);
    m.ex = pack_column(xs);
    m.ey = pack_column(std::vector<int64_t>(ids.size(), 0));
    m.ez = pack_column(std::vector<int64_t>(ids.size(), 0));
    block.changes = m;
    snap.blocks.push_back(block);
    return snap;
}

void test_session() {
    run("session: hello, welcome, snapshot ack, spawn/despawn, inputs, resume resend", [] {
        SessionConfig config;
        config.token = "tok";
        config.name = "ue";
        ClientSession s(config);
        std::vector<std::string> log;
        s.listeners.on_spawn = [&](const std::string& kind, uint32_t id, double x, double, double) {
            log.push_back("spawn " + kind + " " + std::to_string(id) + " " + std::to_string(static_cast<int>(x * 64)));
        };
        s.listeners.on_despawn = [&](const std::string& kind, uint32_t id) {
            log.push_back("despawn " + kind + " " + std::to_string(id));
        };
        s.transport_opened(0.0);
        auto out = s.take_outgoing();
        EXPECT(out.size() == 1);
        if (out.size() == 1) {
            auto m = client_frame(out[0]);
            const auto* hello = std::get_if<protocol::Hello>(&m);
            EXPECT(hello && hello->protocol == protocol::kProtocolVersion && hello->schema == protocol::kSchemaHash &&
                   hello->token == "tok" && hello->resume.empty() && hello->client == "worldloom-unreal");
        }
        deliver(s, make_welcome(false, 0), 0.1);
        EXPECT(s.online() && s.entity() == 5);
        deliver(s, full_snapshot(11, {5, 9}, {64, 128}), 0.2);
        out = s.take_outgoing();
        EXPECT(out.size() == 1);
        if (!out.empty()) {
            auto m = client_frame(out[0]);
            const auto* ack = std::get_if<protocol::Ack>(&m);
            EXPECT(ack && ack->tick == 11);
        }
        EXPECT(log == (std::vector<std::string>{"spawn player 5 64", "spawn player 9 128"}));
        EXPECT(s.send_input(1.0, 0.0) == 1 && s.send_input(2.0, -0.5) == 2 && s.send_input(0.0, 1.0) == 3);
        out = s.take_outgoing();
        EXPECT(out.size() == 3);
        if (out.size() == 3) {
            auto m = client_frame(out[1]);
            const auto* input = std::get_if<protocol::Input>(&m);
            EXPECT(input && input->seq == 2 && input->move[0] == 1.0 && input->move[1] == -0.5 && input->tick == 11);
        }
        // The connection drops: reconnect and resume; inputs above last_input are resent.
        EXPECT(s.transport_closed(1006, "lost", 1.0));
        EXPECT(s.send_input(-1.0, 0.0) == 4);  // logged while offline
        EXPECT(s.take_outgoing().empty());
        s.transport_opened(1.1);
        out = s.take_outgoing();
        if (out.size() == 1) {
            auto m = client_frame(out[0]);
            const auto* hello = std::get_if<protocol::Hello>(&m);
            EXPECT(hello && hello->resume == "resume-token");
        }
        deliver(s, make_welcome(true, 2), 1.2);
        out = s.take_outgoing();
        std::vector<uint64_t> resent;
        for (const auto& f : out) {
            auto m = client_frame(f);
            if (const auto* input = std::get_if<protocol::Input>(&m)) resent.push_back(input->seq);
        }
        EXPECT(resent == (std::vector<uint64_t>{3, 4}));
        EXPECT(s.stats().resumes == 1);
        // The next full snapshot drops 9 and adds 12.
        deliver(s, full_snapshot(12, {5, 12}, {70, 0}), 1.3);
        EXPECT(log.size() == 4 && log[2] == "spawn player 12 0" && log[3] == "despawn player 9");
        double x = 0, y = 0, z = 0;
        EXPECT(s.position(5, x, y, z) && x == 70.0 / 64);
        s.close();
        out = s.take_outgoing();
        EXPECT(out.size() == 2);  // the Ack of tick 12, then Bye
        if (out.size() == 2) {
            auto m = client_frame(out[1]);
            EXPECT(std::get_if<protocol::Bye>(&m) != nullptr);
        }
        int closed = 0;
        s.listeners.on_closed = [&](int code, const std::string&) { closed = code; };
        EXPECT(!s.transport_closed(1000, "", 2.0));
        EXPECT(closed == 1000 && s.state() == SessionState::Closed);
    });
    run("session: a fresh (not resumed) session starts seq over and despawns the old world", [] {
        ClientSession s;
        int despawned = 0;
        s.listeners.on_despawn = [&](const std::string&, uint32_t) { ++despawned; };
        s.transport_opened(0);
        deliver(s, make_welcome(false, 0), 0);
        deliver(s, full_snapshot(11, {5, 9}, {1, 2}), 0);
        s.send_input(1, 0);
        EXPECT(s.transport_closed(1001, "restart", 1));
        s.transport_opened(2);
        deliver(s, make_welcome(false, 0), 2);
        EXPECT(despawned == 2);
        EXPECT(s.send_input(0, 1) == 1);
    });
    run("session: RPC result, error and timeout", [] {
        ClientSession s;
        s.transport_opened(0);
        deliver(s, make_welcome(false, 0), 0);
        s.take_outgoing();
        std::vector<RpcResult> results;
        const uint64_t a = s.call("room.info", msgpack::Value(), 5.0, [&](const RpcResult& r) { results.push_back(r); }, 0);
        const uint64_t b = s.call("assets.level", msgpack::Value::Integer(3), 1.0, [&](const RpcResult& r) { results.push_back(r); }, 0);
        EXPECT(s.call("Bad Name", msgpack::Value(), 1.0, [&](const RpcResult& r) { results.push_back(r); }, 0) == 0);
        auto out = s.take_outgoing();
        EXPECT(out.size() == 2);
        if (!out.empty()) {
            auto m = client_frame(out[0]);
            const auto* req = std::get_if<protocol::RpcRequest>(&m);
            EXPECT(req && req->id == a && req->method == "room.info" && req->deadline_ms == 5000);
        }
        protocol::RpcResponse response;
        response.id = a;
        response.result = msgpack::Value::Map({msgpack::Value::String("tick"), msgpack::Value::Integer(42)});
        deliver(s, response, 0.5);
        s.update(0.9);
        EXPECT(results.size() == 2);  // the bad name failed at once, room.info answered
        s.update(1.0);
        EXPECT(results.size() == 3);
        if (results.size() == 3) {
            EXPECT(results[0].code == static_cast<uint16_t>(protocol::ErrorCode::Invalid));
            EXPECT(results[1].ok() && results[1].result.find("tick") && results[1].result.find("tick")->i == 42);
            EXPECT(results[2].id == b && results[2].code == static_cast<uint16_t>(protocol::ErrorCode::RpcTimeout));
        }
    });
    run("session: version mismatch refusal names both versions", [] {
        SessionConfig config;
        config.protocol_version = 99;
        ClientSession s(config);
        std::string described;
        s.listeners.on_refused = [&](const HandshakeRefusal& r) { described = r.describe(); };
        s.transport_opened(0);
        protocol::Error error;
        error.code = static_cast<uint16_t>(protocol::ErrorCode::VersionMismatch);
        error.message = "protocol version mismatch: client speaks 99, server speaks 1; use a client SDK built for protocol 1";
        deliver(s, error, 0);
        EXPECT(!s.transport_closed(4002, "", 0));
        EXPECT(s.state() == SessionState::Closed);
        EXPECT_MSG(described.find("VERSION_MISMATCH") != std::string::npos &&
                       described.find("server speaks 1") != std::string::npos &&
                       described.find("this SDK: protocol 99") != std::string::npos,
                   described);
    });
}

void test_json() {
    run("to_json renders values for engine code", [] {
        using V = msgpack::Value;
        const V v = V::Map({V::String("a\"b"), V::Array({V::Integer(-3), V::Unsigned(18446744073709551615ULL), V::Float(1.5)}),
                            V::String("n"), V::Nil(), V::String("bin"), V::Binary("hi!?"), V::Integer(7), V::Boolean(true)});
        const std::string text = msgpack::to_json(v);
        EXPECT_MSG(text == "{\"a\\\"b\":[-3,18446744073709551615,1.5],\"n\":null,\"bin\":\"aGkhPw==\",\"7\":true}", text);
        EXPECT(json::parse(text)["bin"] == "aGkhPw==");
    });
}

void test_interpolation() {
    run("interpolation blends, snaps new entities and caps extrapolation", [] {
        InterpolationBuffer buffer(0.0, 8, 1.0, 1.0);
        auto a = std::make_shared<WorldView>();
        (*a)["npc"] = KindView{{1, 2}, {QPos{0, 0, 0}, QPos{10, 0, 0}}};
        auto b = std::make_shared<WorldView>();
        (*b)["npc"] = KindView{{1, 3}, {QPos{10, 20, 0}, QPos{5, 5, 5}}};
        EXPECT(buffer.push(1.0, a) && buffer.push(2.0, b) && !buffer.push(0.5, a));
        auto mid = buffer.sample(1.5);
        EXPECT(mid["npc"].size() == 2);
        if (mid["npc"].size() == 2) {
            EXPECT(mid["npc"][0].id == 1 && mid["npc"][0].x == 5.0 && mid["npc"][0].y == 10.0);
            EXPECT(mid["npc"][1].id == 3 && mid["npc"][1].x == 5.0);  // appeared: drawn where it is
        }
        auto far = buffer.sample(10.0);  // at most one interval past the newest
        EXPECT(!far["npc"].empty() && far["npc"][0].x == 20.0);
        auto early = buffer.sample(0.0);
        EXPECT(early["npc"].size() == 2 && early["npc"][1].id == 2);
    });
}

int classify_stdin() {
    std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    size_t k = 0;
    while (k + 4 <= all.size()) {
        const uint32_t n = static_cast<uint8_t>(all[k]) | (static_cast<uint8_t>(all[k + 1]) << 8) |
                           (static_cast<uint8_t>(all[k + 2]) << 16) | (static_cast<uint32_t>(static_cast<uint8_t>(all[k + 3])) << 24);
        k += 4;
        if (k + n > all.size()) return 2;
        protocol::ServerMessage m;
        protocol::DecodeFailure failure;
        if (protocol::decode_server(reinterpret_cast<const uint8_t*>(all.data() + k), n, m, failure)) {
            std::cout << "ok " << tag_of(m) << "\n";
        } else {
            std::cout << (failure.code == protocol::ErrorCode::Malformed ? "malformed" : "invalid") << "\n";
        }
        k += n;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::strcmp(argv[1], "--classify") == 0) return classify_stdin();
    if (argc != 2) {
        std::cerr << "usage: core_tests VECTORS_DIR | core_tests --classify < frames\n";
        return 2;
    }
    const std::string dir = argv[1];
    test_schema_hash(dir);
    test_vectors(dir);
    test_columns(dir);
    test_views(dir);
    test_bad_input(dir);
    test_session();
    test_interpolation();
    test_json();
    std::cout << g_passed << " passed, " << g_failed << " failed\n";
    return g_failed == 0 ? 0 : 1;
}
