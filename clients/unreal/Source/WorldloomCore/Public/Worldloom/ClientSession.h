// The client protocol as a sans-I/O state machine: bytes in, bytes out, callbacks for the application.
//
// Why sans-I/O: the same session runs inside Unreal (IWebSocket, game thread), in the CI test harness
// (websocketpp) and in unit tests (no socket at all). The transport adapter only tells the session that
// the socket opened, delivers each binary frame, reports the close code, and writes whatever
// `take_outgoing()` returns; every protocol rule lives here:
//
//   * handshake: Hello with protocol version, schema hash, role, auth token and resume token; a refusal
//     (Error then close 4001/4002) is reported with both the SDK's and the server's versions;
//   * snapshots: parts reassembled against acknowledged baselines (SnapshotAssembler), Ack per completed
//     tick, spawn/despawn callbacks from the difference of consecutive views, an interpolation buffer
//     about three send intervals deep;
//   * inputs: strictly increasing seq, unacknowledged ones resent after a resume (seq > last_input);
//   * RPC: ids, callbacks, timeouts driven by `update(now)`;
//   * reconnect: after a network loss or a retryable close (1001, 4007) `transport_closed` returns true
//     and the next `transport_opened` resumes the session with the resume token; the snapshot views are
//     kept so the server's next delta still applies. `close()` says Bye (the server closes with 1000).
//
// Time is always passed in (`now`, monotonic seconds) so the session never reads a clock. Not
// thread-safe: call it from one thread (Unreal's game thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "Worldloom/Inputs.h"
#include "Worldloom/Interpolation.h"
#include "Worldloom/ProtocolMessages.h"
#include "Worldloom/Snapshot.h"

namespace worldloom {

inline constexpr const char* kSdkName = "worldloom-unreal";
inline constexpr const char* kSdkVersion = "0.1.0";

struct SessionConfig {
    std::string role = "player";  // player | spectator | admin | service
    std::string token;            // signed token; "" for open play
    std::string name;             // display name
    std::string client_name = kSdkName;
    std::string client_version = kSdkVersion;
    double interpolation_intervals = 3.0;  // interpolation delay in send intervals (1 / tick_rate)
    size_t snapshot_history = 64;          // completed views kept as delta baselines (server needs <= 32)
    int max_reconnect_attempts = 8;        // failed attempts in a row before giving up
    // Sent in Hello; change only to test a version mismatch.
    uint16_t protocol_version = protocol::kProtocolVersion;
    std::string schema_hash = protocol::kSchemaHash;
};

enum class SessionState { Disconnected, Handshaking, Online, Closing, Closed };

struct RpcResult {
    uint64_t id = 0;
    uint16_t code = 0;  // 0: success, else a protocol::ErrorCode
    std::string message;
    msgpack::Value result;
    bool ok() const { return code == 0; }
};
using RpcCallback = std::function<void(const RpcResult&)>;

/** The server refused the handshake (or the session could not continue). */
struct HandshakeRefusal {
    uint16_t error_code = 0;  // protocol::ErrorCode, 0 when only the close code is known
    int close_code = 0;
    std::string server_message;
    uint16_t sdk_protocol = 0;
    std::string sdk_schema;
    uint16_t server_protocol = 0;  // known when the server sent them (Welcome) or named them in its message
    std::string server_schema;
    /** One line for logs and UI naming both sides' versions, e.g.
     *  "handshake refused (VERSION_MISMATCH, close 4002): ... [this SDK: protocol 1, schema 43ad...]". */
    std::string describe() const;
};

struct SessionStats {
    uint64_t frames_received = 0, bytes_received = 0, frames_sent = 0, bytes_sent = 0;
    uint64_t snapshot_parts = 0, snapshots = 0, snapshot_errors = 0, acks_sent = 0;
    uint64_t inputs_sent = 0, inputs_resent = 0, events = 0, errors = 0, decode_errors = 0;
    uint64_t rpc_calls = 0, rpc_timeouts = 0, reconnects = 0, resumes = 0, spawns = 0, despawns = 0;
    double rtt = -1.0;  // seconds, last Ping round trip (-1: none yet)
};

struct SessionListeners {
    std::function<void(const protocol::Welcome&)> on_welcome;
    /** An entity became visible; position in metres (z up). */
    std::function<void(const std::string& kind, uint32_t id, double x, double y, double z)> on_spawn;
    std::function<void(const std::string& kind, uint32_t id)> on_despawn;
    std::function<void(uint64_t tick)> on_snapshot;
    std::function<void(const protocol::Event&)> on_event;
    std::function<void(const protocol::Error&)> on_error;
    std::function<void(const HandshakeRefusal&)> on_refused;
    /** The session ended for good (no reconnect will follow). */
    std::function<void(int close_code, const std::string& reason)> on_closed;
};

class ClientSession {
public:
    explicit ClientSession(SessionConfig config = SessionConfig());

    SessionListeners listeners;

    // ---------------------------------------------------------- transport side
    /** The websocket is open: queues Hello (resuming when a session is known). */
    void transport_opened(double now);
    /** One binary websocket message arrived. */
    void frame_received(const uint8_t* data, size_t size, double now);
    /** A text message arrived (the protocol never sends one): counted as a decode error. */
    void text_frame_received();
    /** The socket closed or failed (`close_code` 1006 when no close frame came). Returns true when the
     *  adapter should reconnect after `reconnect_delay()` and call `transport_opened` again. */
    bool transport_closed(int close_code, const std::string& reason, double now);
    /** Frames to write, in order (each is one binary websocket message). */
    std::vector<Bytes> take_outgoing();
    bool has_outgoing() const { return !outgoing_.empty(); }
    /** Seconds to wait before the next reconnect attempt (jitter-free exponential backoff, <= 2 s). */
    double reconnect_delay() const;

    // ---------------------------------------------------------- application side
    /** Send one input (axes clamped to [-1, 1]); returns its seq. Logged while reconnecting and sent
     *  after the resume; 0 (nothing sent) once the session is closed. */
    uint64_t send_input(double move_x, double move_y, uint32_t buttons = 0);
    /** Call an RPC method; `callback` runs exactly once (result, error or RPC_TIMEOUT after `timeout`
     *  seconds). Returns the request id (0 if refused at once: bad method name or closed session). */
    uint64_t call(const std::string& method, msgpack::Value params, double timeout, RpcCallback callback, double now);
    void ping(double now);
    /** Say Bye; the server closes the connection with 1000 and the session ends. */
    void close(const std::string& reason = "client closing");
    /** Expire RPC timeouts; call every frame. */
    void update(double now);

    /** Smoothed positions at `now` (render time = estimated server time - interpolation delay). */
    InterpolatedWorld interpolated(double now) const;
    /** Newest position (metres) of `entity` in the latest view; false when not visible. */
    bool position(uint32_t entity, double& x, double& y, double& z) const;
    /** Estimated server clock (seconds) at local `now`; 0 before the first snapshot. */
    double server_time(double now) const;

    SessionState state() const { return state_; }
    bool online() const { return state_ == SessionState::Online; }
    bool has_welcome() const { return has_welcome_; }
    const protocol::Welcome& welcome() const { return welcome_; }
    uint32_t entity() const { return welcome_.entity; }
    uint64_t tick() const { return assembler_.latest_tick(); }
    uint64_t input_ack() const { return inputs_.acked(); }
    uint64_t last_input_seq() const { return inputs_.last_seq(); }
    const SharedView& view() const { return view_; }
    const SessionStats& stats() const { return stats_; }
    int close_code() const { return close_code_; }
    const HandshakeRefusal* refusal() const { return has_refusal_ ? &refusal_ : nullptr; }
    const SessionConfig& config() const { return config_; }

private:
    struct PendingCall {
        std::string method;
        double deadline = 0.0;
        double timeout = 0.0;
        RpcCallback callback;
    };

    void queue(Bytes frame);
    void handle(protocol::ServerMessage& message, double now);
    void on_welcome(const protocol::Welcome& welcome);
    void on_snapshot(const protocol::Snapshot& snap, double now);
    void on_rpc_response(const protocol::RpcResponse& response);
    void on_rpc_request(const protocol::RpcRequest& request);
    void emit_changes(const SharedView& prev, const SharedView& next);
    void finish(int close_code, const std::string& reason);
    void fail_calls(uint16_t code, const std::string& message);

    SessionConfig config_;
    SessionState state_ = SessionState::Disconnected;
    protocol::Welcome welcome_;
    bool has_welcome_ = false;
    bool resuming_ = false;
    int failed_attempts_ = 0;
    int bye_code_ = 0;
    int close_code_ = 0;
    bool has_refusal_ = false;
    HandshakeRefusal refusal_;
    protocol::Error handshake_error_;
    bool has_handshake_error_ = false;

    SnapshotAssembler assembler_;
    InterpolationBuffer buffer_;
    InputLog inputs_;
    SharedView view_;
    bool has_clock_ = false;
    double clock_offset_ = 0.0;

    std::vector<Bytes> outgoing_;
    std::vector<Bytes> deferred_;  // RPC requests made while offline, sent after Welcome
    std::map<uint64_t, PendingCall> calls_;
    uint64_t next_call_id_ = 0;
    uint64_t ping_nonce_ = 0;
    SessionStats stats_;
};

/** True when `method` is a valid RPC method name (dotted lower case, e.g. "room.info"). */
bool is_valid_method_name(const std::string& method);

}  // namespace worldloom
