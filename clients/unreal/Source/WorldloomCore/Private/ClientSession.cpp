// Sans-I/O client session (see ClientSession.h).
#include "Worldloom/ClientSession.h"

#include <algorithm>
#include <utility>
#include <variant>

namespace worldloom {

namespace {

using protocol::CloseCode;
using protocol::ErrorCode;

bool session_never_reconnect(int code) {
    // docs/protocol.md "Close codes": a retry would be refused again, would fight the connection that
    // owns the session, or the close reports a client bug.
    switch (code) {
        case static_cast<int>(CloseCode::Normal):
        case static_cast<int>(CloseCode::MessageTooBig):
        case static_cast<int>(CloseCode::ProtocolViolation):
        case static_cast<int>(CloseCode::Unauthorized):
        case static_cast<int>(CloseCode::VersionMismatch):
        case static_cast<int>(CloseCode::RateLimit):
        case static_cast<int>(CloseCode::TooManyErrors):
        case static_cast<int>(CloseCode::Replaced): return true;
        default: return false;
    }
}

bool session_fatal_refusal(uint16_t code) {
    return code == static_cast<uint16_t>(ErrorCode::Unauthorized) ||
           code == static_cast<uint16_t>(ErrorCode::VersionMismatch) ||
           code == static_cast<uint16_t>(ErrorCode::SchemaMismatch);
}

/** Calls `spawn(kind, row)` for entities of `next` absent from `prev`, `despawn(kind, id)` for the reverse. */
template <typename Spawn, typename Despawn>
void session_diff_views(const WorldView* prev, const WorldView* next, Spawn spawn, Despawn despawn) {
    static const KindView kNone;
    if (next != nullptr) {
        for (const auto& entry : *next) {
            const KindView* before = &kNone;
            if (prev != nullptr) {
                auto it = prev->find(entry.first);
                if (it != prev->end()) before = &it->second;
            }
            size_t b = 0;
            for (size_t k = 0; k < entry.second.ids.size(); ++k) {
                const uint32_t id = entry.second.ids[k];
                while (b < before->ids.size() && before->ids[b] < id) ++b;
                if (b >= before->ids.size() || before->ids[b] != id) spawn(entry.first, entry.second, k);
            }
        }
    }
    if (prev != nullptr) {
        for (const auto& entry : *prev) {
            const KindView* after = &kNone;
            if (next != nullptr) {
                auto it = next->find(entry.first);
                if (it != next->end()) after = &it->second;
            }
            size_t a = 0;
            for (const uint32_t id : entry.second.ids) {
                while (a < after->ids.size() && after->ids[a] < id) ++a;
                if (a >= after->ids.size() || after->ids[a] != id) despawn(entry.first, id);
            }
        }
    }
}

}  // namespace

bool is_valid_method_name(const std::string& method) {
    if (method.empty() || method.size() > 64) return false;
    size_t segments = 0;
    size_t start = 0;
    while (start <= method.size()) {
        size_t end = method.find('.', start);
        if (end == std::string::npos) end = method.size();
        if (end == start || method[start] < 'a' || method[start] > 'z') return false;
        for (size_t k = start + 1; k < end; ++k) {
            const char c = method[k];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
        }
        ++segments;
        start = end + 1;
    }
    return segments >= 2;
}

std::string HandshakeRefusal::describe() const {
    std::string text = "handshake refused (";
    text += error_code != 0 ? protocol::error_code_name(error_code) : "no error message";
    text += ", close " + std::to_string(close_code) + "): " + server_message;
    text += " [this SDK: protocol " + std::to_string(sdk_protocol) + ", schema " + sdk_schema;
    if (!server_schema.empty()) {
        text += "; server: protocol " + std::to_string(server_protocol) + ", schema " + server_schema;
    }
    text += "]";
    return text;
}

ClientSession::ClientSession(SessionConfig config)
    : config_(std::move(config)), assembler_(config_.snapshot_history) {}

// ---------------------------------------------------------------- transport side
void ClientSession::queue(Bytes frame) {
    stats_.frames_sent += 1;
    stats_.bytes_sent += frame.size();
    outgoing_.push_back(std::move(frame));
}

std::vector<Bytes> ClientSession::take_outgoing() {
    std::vector<Bytes> out;
    out.swap(outgoing_);
    return out;
}

double ClientSession::reconnect_delay() const {
    double delay = 0.05;
    for (int k = 1; k < failed_attempts_; ++k) delay = std::min(delay * 2.0, 2.0);
    return delay;
}

void ClientSession::transport_opened(double now) {
    (void)now;
    if (state_ == SessionState::Closed || state_ == SessionState::Closing) return;
    outgoing_.clear();  // nothing of an earlier connection may leak into this one
    state_ = SessionState::Handshaking;
    bye_code_ = 0;
    has_handshake_error_ = false;
    resuming_ = has_welcome_ && !welcome_.resume.empty();
    protocol::Hello hello;
    hello.protocol = config_.protocol_version;
    hello.schema = config_.schema_hash;
    hello.client = config_.client_name;
    hello.version = config_.client_version;
    hello.role = config_.role;
    hello.token = config_.token;
    hello.resume = resuming_ ? welcome_.resume : std::string();
    hello.name = config_.name;
    queue(protocol::encode(hello));
}

void ClientSession::text_frame_received() { stats_.decode_errors += 1; }

void ClientSession::frame_received(const uint8_t* data, size_t size, double now) {
    stats_.frames_received += 1;
    stats_.bytes_received += size;
    protocol::ServerMessage message;
    protocol::DecodeFailure failure;
    if (!protocol::decode_server(data, size, message, failure)) {
        stats_.decode_errors += 1;
        if (state_ == SessionState::Handshaking && !has_handshake_error_) {
            handshake_error_ = protocol::Error{static_cast<uint16_t>(failure.code),
                                               "server sent an invalid frame: " + failure.message, 0};
            has_handshake_error_ = true;
        }
        return;
    }
    handle(message, now);
}

void ClientSession::handle(protocol::ServerMessage& message, double now) {
    if (const auto* welcome = std::get_if<protocol::Welcome>(&message)) {
        on_welcome(*welcome);
    } else if (const auto* snap = std::get_if<protocol::Snapshot>(&message)) {
        on_snapshot(*snap, now);
    } else if (const auto* event = std::get_if<protocol::Event>(&message)) {
        stats_.events += 1;
        if (listeners.on_event) listeners.on_event(*event);
    } else if (const auto* response = std::get_if<protocol::RpcResponse>(&message)) {
        on_rpc_response(*response);
    } else if (const auto* request = std::get_if<protocol::RpcRequest>(&message)) {
        on_rpc_request(*request);
    } else if (const auto* pong = std::get_if<protocol::Pong>(&message)) {
        stats_.rtt = now - pong->time;
    } else if (const auto* error = std::get_if<protocol::Error>(&message)) {
        stats_.errors += 1;
        if (state_ == SessionState::Handshaking) {
            handshake_error_ = *error;
            has_handshake_error_ = true;
        }
        if (listeners.on_error) listeners.on_error(*error);
    } else if (const auto* bye = std::get_if<protocol::Bye>(&message)) {
        bye_code_ = bye->code;
    }
}

bool ClientSession::transport_closed(int close_code, const std::string& reason, double now) {
    (void)now;
    if (state_ == SessionState::Closed) return false;
    const bool was_handshaking = state_ == SessionState::Handshaking;
    const int code = bye_code_ != 0 ? bye_code_ : close_code;
    if (state_ == SessionState::Closing) {
        finish(code, reason.empty() ? "closed" : reason);
        return false;
    }
    if (was_handshaking && has_handshake_error_ && session_fatal_refusal(handshake_error_.code)) {
        has_refusal_ = true;
        refusal_ = HandshakeRefusal{handshake_error_.code, close_code, handshake_error_.message,
                                    config_.protocol_version, config_.schema_hash, 0, std::string()};
        if (listeners.on_refused) listeners.on_refused(refusal_);
        finish(close_code, refusal_.describe());
        return false;
    }
    if (session_never_reconnect(code)) {
        finish(code, reason);
        return false;
    }
    failed_attempts_ = was_handshaking ? failed_attempts_ + 1 : 1;
    if (failed_attempts_ > config_.max_reconnect_attempts) {
        finish(code, "connection lost and not re-established: " + reason);
        return false;
    }
    state_ = SessionState::Disconnected;
    return true;
}

void ClientSession::finish(int close_code, const std::string& reason) {
    state_ = SessionState::Closed;
    close_code_ = close_code;
    outgoing_.clear();
    deferred_.clear();
    fail_calls(static_cast<uint16_t>(ErrorCode::RpcFailed), "connection closed: " + reason);
    if (listeners.on_closed) listeners.on_closed(close_code, reason);
}

// ---------------------------------------------------------------- messages
void ClientSession::on_welcome(const protocol::Welcome& welcome) {
    if (state_ != SessionState::Handshaking) return;
    if (welcome.protocol != config_.protocol_version || welcome.schema != config_.schema_hash) {
        has_refusal_ = true;
        refusal_ = HandshakeRefusal{static_cast<uint16_t>(welcome.protocol != config_.protocol_version
                                                              ? ErrorCode::VersionMismatch
                                                              : ErrorCode::SchemaMismatch),
                                    0, "the server accepted a client of another protocol revision",
                                    config_.protocol_version, config_.schema_hash, welcome.protocol, welcome.schema};
        if (listeners.on_refused) listeners.on_refused(refusal_);
        close("protocol mismatch");
        return;
    }
    const bool reconnect = has_welcome_;
    if (reconnect) {
        stats_.reconnects += 1;
        if (welcome.resumed) {
            stats_.resumes += 1;
        } else {  // a new session: the server knows none of our ticks or inputs
            const SharedView old = view_;
            view_.reset();
            emit_changes(old, nullptr);  // the old session's entities are gone
            assembler_.clear();
            inputs_.clear();
            buffer_.clear();
            has_clock_ = false;
        }
    }
    welcome_ = welcome;
    has_welcome_ = true;
    failed_attempts_ = 0;
    has_handshake_error_ = false;
    state_ = SessionState::Online;
    if (welcome.tick_rate > 0) buffer_.set_delay(config_.interpolation_intervals / welcome.tick_rate);
    buffer_.set_quantum(welcome.quantum);
    if (reconnect && welcome.resumed) {
        for (const protocol::Input& input : inputs_.unacknowledged_after(welcome.last_input)) {
            queue(protocol::encode(input));
            stats_.inputs_resent += 1;
        }
    }
    for (Bytes& frame : deferred_) queue(std::move(frame));
    deferred_.clear();
    if (listeners.on_welcome) listeners.on_welcome(welcome_);
}

void ClientSession::emit_changes(const SharedView& prev, const SharedView& next) {
    const double quantum = welcome_.quantum;
    session_diff_views(
        prev.get(), next.get(),
        [&](const std::string& kind, const KindView& kv, size_t row) {
            stats_.spawns += 1;
            if (listeners.on_spawn) {
                listeners.on_spawn(kind, kv.ids[row], kv.q[row][0] * quantum, kv.q[row][1] * quantum,
                                   kv.q[row][2] * quantum);
            }
        },
        [&](const std::string& kind, uint32_t id) {
            stats_.despawns += 1;
            if (listeners.on_despawn) listeners.on_despawn(kind, id);
        });
}

void ClientSession::on_snapshot(const protocol::Snapshot& snap, double now) {
    if (state_ != SessionState::Online) return;
    stats_.snapshot_parts += 1;
    inputs_.acknowledge(snap.input_ack);
    std::string error;
    const SnapshotAssembler::Result result = assembler_.feed(snap, error);
    if (result == SnapshotAssembler::Result::Failed) {
        stats_.snapshot_errors += 1;  // no ack: the server falls back to a full snapshot
        return;
    }
    if (result != SnapshotAssembler::Result::Completed) return;
    const SharedView next = assembler_.latest();
    const SharedView prev = view_;
    view_ = next;
    stats_.snapshots += 1;
    buffer_.push(snap.time, next);
    const double offset = snap.time - now;
    clock_offset_ = has_clock_ ? clock_offset_ + 0.1 * (offset - clock_offset_) : offset;
    has_clock_ = true;
    protocol::Ack ack;
    ack.tick = assembler_.latest_tick();
    queue(protocol::encode(ack));
    stats_.acks_sent += 1;
    emit_changes(prev, next);
    if (listeners.on_snapshot) listeners.on_snapshot(ack.tick);
}

void ClientSession::on_rpc_response(const protocol::RpcResponse& response) {
    auto it = calls_.find(response.id);
    if (it == calls_.end()) return;  // timed out already
    RpcCallback callback = std::move(it->second.callback);
    calls_.erase(it);
    if (callback) callback(RpcResult{response.id, response.code, response.message, response.result});
}

void ClientSession::on_rpc_request(const protocol::RpcRequest& request) {
    // This SDK provides no methods (Hello.methods is empty): answer so the caller is not left waiting.
    protocol::RpcResponse response;
    response.id = request.id;
    response.code = static_cast<uint16_t>(ErrorCode::NoSuchMethod);
    response.message = request.method + ": not provided by this client";
    queue(protocol::encode(response));
}

void ClientSession::fail_calls(uint16_t code, const std::string& message) {
    std::map<uint64_t, PendingCall> calls;
    calls.swap(calls_);
    for (auto& entry : calls) {
        if (entry.second.callback) entry.second.callback(RpcResult{entry.first, code, message, msgpack::Value()});
    }
}

// ---------------------------------------------------------------- application side
uint64_t ClientSession::send_input(double move_x, double move_y, uint32_t buttons) {
    if (state_ == SessionState::Closed || state_ == SessionState::Closing) return 0;
    const protocol::Input input = inputs_.record(move_x, move_y, buttons, assembler_.latest_tick());
    if (state_ == SessionState::Online) {
        queue(protocol::encode(input));
        stats_.inputs_sent += 1;
    }
    return input.seq;
}

uint64_t ClientSession::call(const std::string& method, msgpack::Value params, double timeout, RpcCallback callback,
                             double now) {
    if (!is_valid_method_name(method) || state_ == SessionState::Closed || state_ == SessionState::Closing) {
        if (callback) {
            const bool bad_name = !is_valid_method_name(method);
            callback(RpcResult{0, static_cast<uint16_t>(bad_name ? ErrorCode::Invalid : ErrorCode::RpcFailed),
                               bad_name ? method + ": not a valid method name (dotted lower case, e.g. room.info)"
                                        : method + ": the session is closed",
                               msgpack::Value()});
        }
        return 0;
    }
    protocol::RpcRequest request;
    request.id = ++next_call_id_;
    request.method = method;
    request.params = std::move(params);
    const double ms = timeout * 1000.0;
    request.deadline_ms = static_cast<uint32_t>(std::max(1.0, std::min(600000.0, ms)));
    calls_[request.id] = PendingCall{method, now + timeout, timeout, std::move(callback)};
    stats_.rpc_calls += 1;
    Bytes frame = protocol::encode(request);
    if (state_ == SessionState::Online) {
        queue(std::move(frame));
    } else {
        deferred_.push_back(std::move(frame));
    }
    return request.id;
}

void ClientSession::ping(double now) {
    if (state_ != SessionState::Online) return;
    protocol::Ping ping_message;
    ping_message.nonce = ++ping_nonce_;
    ping_message.time = now;
    queue(protocol::encode(ping_message));
}

void ClientSession::close(const std::string& reason) {
    if (state_ == SessionState::Closed || state_ == SessionState::Closing) return;
    if (state_ == SessionState::Online || state_ == SessionState::Handshaking) {
        protocol::Bye bye;
        bye.code = static_cast<uint16_t>(CloseCode::Normal);
        bye.reason = reason;
        queue(protocol::encode(bye));
        state_ = SessionState::Closing;
    } else {
        finish(static_cast<int>(CloseCode::Normal), reason);
    }
}

void ClientSession::update(double now) {
    std::vector<std::pair<uint64_t, PendingCall>> expired;
    for (auto it = calls_.begin(); it != calls_.end();) {
        if (now >= it->second.deadline) {
            expired.emplace_back(it->first, std::move(it->second));
            it = calls_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& entry : expired) {
        stats_.rpc_timeouts += 1;
        if (entry.second.callback) {
            entry.second.callback(RpcResult{entry.first, static_cast<uint16_t>(ErrorCode::RpcTimeout),
                                            entry.second.method + ": no answer within " +
                                                std::to_string(entry.second.timeout) + " s",
                                            msgpack::Value()});
        }
    }
}

InterpolatedWorld ClientSession::interpolated(double now) const { return buffer_.sample(server_time(now)); }

bool ClientSession::position(uint32_t entity, double& x, double& y, double& z) const {
    if (!view_) return false;
    for (const auto& entry : *view_) {
        const long row = entry.second.find(entity);
        if (row >= 0) {
            const QPos& q = entry.second.q[static_cast<size_t>(row)];
            x = q[0] * welcome_.quantum;
            y = q[1] * welcome_.quantum;
            z = q[2] * welcome_.quantum;
            return true;
        }
    }
    return false;
}

double ClientSession::server_time(double now) const { return has_clock_ ? now + clock_offset_ : 0.0; }

}  // namespace worldloom
