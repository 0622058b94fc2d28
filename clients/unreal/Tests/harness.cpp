// End-to-end test harness: the portable core (ClientSession) over websocketpp, Debian's header-only
// WebSocket library, playing against a live Worldloom server. It is the CI stand-in for the Unreal
// module's IWebSocket adapter: both only move bytes between a socket and the same sans-I/O session.
//
//   harness --url ws://127.0.0.1:PORT/ws [--name N] [--inputs 20] [--watch ENTITY] [--timeout 40]
//           [--protocol V]
//
// Scenario: connect and join as a player; walk toward the map centre for `--inputs` inputs (one per
// tick) until the server acknowledged them and the avatar moved; see entity `--watch` (a Python bot)
// move; call `room.info`; drop the TCP connection abruptly (RST, no Bye), keep steering while offline,
// resume with the resume token (same avatar, unacknowledged inputs resent); walk again until acked;
// say Bye. Prints progress lines and a final `RESULT {json}`; exit 0 on success, 1 on failure or
// timeout, 3 when the server refused the handshake (the refusal, naming both versions, is printed).
#define ASIO_STANDALONE
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "Worldloom/ClientSession.h"

using WsClient = websocketpp::client<websocketpp::config::asio_client>;
using namespace worldloom;

namespace {

double now_s() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

struct Options {
    std::string url;
    std::string name = "unreal-harness";
    int inputs = 20;
    uint32_t watch = 0;
    double timeout = 40.0;
    int protocol = -1;
};

/** One websocket connection at a time, feeding a ClientSession. Events of an older connection are ignored. */
class Link {
public:
    Link(WsClient& ws, ClientSession& session) : ws_(ws), session_(session) {}

    bool connect(const std::string& url) {
        websocketpp::lib::error_code ec;
        con_ = ws_.get_connection(url, ec);
        if (ec) {
            std::cerr << "harness: bad url " << url << ": " << ec.message() << "\n";
            return false;
        }
        const int generation = ++generation_;
        open_ = false;
        closed_ = false;
        con_->set_open_handler([this, generation](websocketpp::connection_hdl) {
            if (generation != generation_) return;
            open_ = true;
            session_.transport_opened(now_s());
            flush();
        });
        con_->set_message_handler([this, generation](websocketpp::connection_hdl, WsClient::message_ptr msg) {
            if (generation != generation_) return;
            const std::string& payload = msg->get_payload();
            if (msg->get_opcode() == websocketpp::frame::opcode::binary) {
                session_.frame_received(reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), now_s());
            } else {
                session_.text_frame_received();
            }
            flush();
        });
        con_->set_close_handler([this, generation](websocketpp::connection_hdl hdl) {
            if (generation != generation_) return;
            auto c = ws_.get_con_from_hdl(hdl);
            const int code = c->get_remote_close_code();
            mark_closed(code == websocketpp::close::status::no_status ? 1005 : code, c->get_remote_close_reason());
        });
        con_->set_fail_handler([this, generation](websocketpp::connection_hdl) {
            if (generation != generation_) return;
            mark_closed(1006, "connection failed");
        });
        ws_.connect(con_);
        return true;
    }

    void flush() {
        if (!open_ || closed_) return;
        for (const Bytes& frame : session_.take_outgoing()) {
            const websocketpp::lib::error_code ec =
                con_->send(frame.data(), frame.size(), websocketpp::frame::opcode::binary);
            if (ec) std::cerr << "harness: send failed: " << ec.message() << "\n";
        }
    }

    /** Abort the TCP connection without a close frame or Bye (RST): a network loss as the server sees it. */
    void drop() {
        ++generation_;  // events of this connection no longer reach the session
        asio::error_code ec;
        auto& socket = con_->get_raw_socket();
        socket.set_option(asio::socket_base::linger(true, 0), ec);
        socket.close(ec);
        mark_closed(1006, "dropped by the harness");
    }

    bool take_closed(int& code, std::string& reason) {
        if (!closed_ || reported_) return false;
        reported_ = true;
        code = close_code_;
        reason = close_reason_;
        return true;
    }

    void reset_report() { reported_ = false; }

private:
    void mark_closed(int code, const std::string& reason) {
        if (closed_) return;
        closed_ = true;
        open_ = false;
        reported_ = false;
        close_code_ = code;
        close_reason_ = reason;
    }

    WsClient& ws_;
    ClientSession& session_;
    WsClient::connection_ptr con_;
    int generation_ = 0;
    bool open_ = false;
    bool closed_ = false;
    bool reported_ = false;
    int close_code_ = 0;
    std::string close_reason_;
};

bool parse_args(int argc, char** argv, Options& o) {
    for (int k = 1; k < argc; ++k) {
        const std::string a = argv[k];
        const char* v = k + 1 < argc ? argv[k + 1] : nullptr;
        if (v == nullptr) return false;
        if (a == "--url") o.url = v;
        else if (a == "--name") o.name = v;
        else if (a == "--inputs") o.inputs = std::atoi(v);
        else if (a == "--watch") o.watch = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
        else if (a == "--timeout") o.timeout = std::atof(v);
        else if (a == "--protocol") o.protocol = std::atoi(v);
        else return false;
        ++k;
    }
    return !o.url.empty();
}

double distance2d(const double a[3], const double b[3]) { return std::hypot(a[0] - b[0], a[1] - b[1]); }

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    if (!parse_args(argc, argv, opt)) {
        std::cerr << "usage: harness --url ws://HOST:PORT/ws [--name N] [--inputs N] [--watch ENTITY] "
                     "[--timeout S] [--protocol V]\n";
        return 2;
    }
    SessionConfig config;
    config.name = opt.name;
    if (opt.protocol >= 0) config.protocol_version = static_cast<uint16_t>(opt.protocol);
    ClientSession session(config);

    // Observations made by the callbacks.
    std::string refusal;
    int closed_code = 0;
    bool ended = false;
    uint64_t events = 0;
    session.listeners.on_refused = [&](const HandshakeRefusal& r) { refusal = r.describe(); };
    session.listeners.on_closed = [&](int code, const std::string&) {
        closed_code = code;
        ended = true;
    };
    session.listeners.on_event = [&](const protocol::Event& e) {
        ++events;
        std::cout << "event " << e.kind << " entity=" << e.entity << "\n";
    };
    session.listeners.on_welcome = [&](const protocol::Welcome& w) {
        std::cout << "welcome session=" << w.session << " entity=" << w.entity << " resumed=" << w.resumed
                  << " last_input=" << w.last_input << " tick_rate=" << w.tick_rate << "\n";
    };

    WsClient ws;
    ws.clear_access_channels(websocketpp::log::alevel::all);
    ws.clear_error_channels(websocketpp::log::elevel::all);
    ws.init_asio();
    ws.start_perpetual();
    Link link(ws, session);
    if (!link.connect(opt.url)) return 1;

    enum class Phase { Join, Walk, Rpc, SeeBot, Drop, Resume, WalkAgain, Bye, Done };
    Phase phase = Phase::Join;
    const char* names[] = {"join", "walk", "rpc", "see-bot", "drop", "resume", "walk-again", "bye", "done"};
    const double start = now_s();
    double next_input = 0.0, reconnect_at = -1.0;
    double origin[3] = {0, 0, 0}, here[3] = {0, 0, 0}, bot_first[3] = {0, 0, 0}, bot_now[3] = {0, 0, 0};
    double dir_x = 1.0, dir_y = 0.0;
    bool have_origin = false, bot_seen = false, rpc_pending = false, rpc_ok = false, resumed = false;
    double bot_moved = 0.0, self_moved = 0.0;
    int sent = 0, offline_inputs = 0;
    uint64_t last_seq = 0, first_entity = 0;
    std::string first_session, rpc_summary;

    while (phase != Phase::Done) {
        const double now = now_s();
        if (now - start > opt.timeout) {
            std::cerr << "harness: timed out in phase " << names[static_cast<int>(phase)] << "\n";
            return 1;
        }
        const size_t handled = ws.poll();
        session.update(now);
        link.flush();

        int code = 0;
        std::string reason;
        if (link.take_closed(code, reason)) {
            std::cout << "closed code=" << code << " reason=" << reason << "\n";
            if (session.transport_closed(code, reason, now)) {
                reconnect_at = now + session.reconnect_delay();
            }
        }
        if (ended || session.state() == SessionState::Closed) {
            if (!refusal.empty()) {
                std::cout << "refused: " << refusal << "\n";
                return 3;
            }
            if (phase == Phase::Bye) break;
            std::cerr << "harness: session ended in phase " << names[static_cast<int>(phase)] << " code "
                      << closed_code << "\n";
            return 1;
        }
        if (reconnect_at >= 0 && now >= reconnect_at) {
            reconnect_at = -1.0;
            link.reset_report();
            if (!link.connect(opt.url)) return 1;
        }

        // Track the bot and ourselves in the newest view.
        if (opt.watch != 0 && session.position(opt.watch, bot_now[0], bot_now[1], bot_now[2])) {
            if (!bot_seen) {
                bot_seen = true;
                std::copy(bot_now, bot_now + 3, bot_first);
                std::cout << "bot " << opt.watch << " seen at " << bot_now[0] << "," << bot_now[1] << "\n";
            }
            bot_moved = std::max(bot_moved, distance2d(bot_now, bot_first));
        }
        if (session.online() && session.position(session.entity(), here[0], here[1], here[2])) {
            if (!have_origin) {
                have_origin = true;
                std::copy(here, here + 3, origin);
                const double len = std::hypot(here[0], here[1]);
                if (len > 1e-6) {  // toward the middle of the map: never stopped by its edge
                    dir_x = -here[0] / len;
                    dir_y = -here[1] / len;
                }
            }
            self_moved = distance2d(here, origin);
        }
        const bool tick_due = now >= next_input;
        if (tick_due) next_input = now + 0.05;

        switch (phase) {
            case Phase::Join:
                if (session.online() && have_origin) {
                    first_entity = session.entity();
                    first_session = session.welcome().session;
                    phase = Phase::Walk;
                }
                break;
            case Phase::Walk:
                if (tick_due && sent < opt.inputs) {
                    last_seq = session.send_input(dir_x, dir_y);
                    ++sent;
                }
                if (sent >= opt.inputs && session.input_ack() >= last_seq && self_moved > 0.5) {
                    std::cout << "walked " << self_moved << " m, input_ack=" << session.input_ack() << "\n";
                    phase = Phase::Rpc;
                }
                break;
            case Phase::Rpc:
                if (!rpc_pending) {
                    rpc_pending = true;
                    session.call("room.info", msgpack::Value(), 5.0, [&](const RpcResult& r) {
                        const msgpack::Value* tick = r.result.find("tick");
                        const msgpack::Value* clients = r.result.find("clients");
                        rpc_ok = r.ok() && tick != nullptr && clients != nullptr && clients->is_int();
                        std::ostringstream s;
                        s << "{\"code\":" << r.code << ",\"tick\":" << (tick ? tick->i : -1)
                          << ",\"clients\":" << (clients ? clients->i : -1) << "}";
                        rpc_summary = s.str();
                        std::cout << "rpc room.info -> " << rpc_summary << " " << r.message << "\n";
                    }, now);
                }
                if (!rpc_summary.empty()) {
                    if (!rpc_ok) {
                        std::cerr << "harness: room.info failed\n";
                        return 1;
                    }
                    phase = Phase::SeeBot;
                }
                break;
            case Phase::SeeBot:
                if (opt.watch == 0 || bot_moved > 0.5) {
                    std::cout << "bot moved " << bot_moved << " m\n";
                    phase = Phase::Drop;
                }
                break;
            case Phase::Drop:
                link.drop();
                std::cout << "dropped the connection (no Bye)\n";
                for (; offline_inputs < 3; ++offline_inputs) {  // steering while offline: logged, resent later
                    last_seq = session.send_input(dir_x, dir_y);
                }
                phase = Phase::Resume;
                break;
            case Phase::Resume:
                if (session.online()) {
                    resumed = session.welcome().resumed && session.entity() == first_entity &&
                              session.welcome().session == first_session;
                    if (!resumed) {
                        std::cerr << "harness: reconnected but did not resume the session\n";
                        return 1;
                    }
                    sent = 0;
                    phase = Phase::WalkAgain;
                }
                break;
            case Phase::WalkAgain:
                if (tick_due && sent < 5) {
                    last_seq = session.send_input(dir_x, dir_y);
                    ++sent;
                }
                if (sent >= 5 && session.input_ack() >= last_seq && session.stats().snapshots > 0) {
                    session.close("harness done");
                    link.flush();
                    phase = Phase::Bye;
                }
                break;
            case Phase::Bye:
            case Phase::Done:
                break;
        }
        if (handled == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }

    const SessionStats& st = session.stats();
    std::cout << "RESULT {\"entity\":" << session.entity() << ",\"session\":\"" << first_session
              << "\",\"last_seq\":" << last_seq << ",\"input_ack\":" << session.input_ack()
              << ",\"resumed\":" << (resumed ? "true" : "false") << ",\"self_moved_m\":" << self_moved
              << ",\"bot_moved_m\":" << bot_moved << ",\"rpc\":" << rpc_summary << ",\"snapshots\":" << st.snapshots
              << ",\"snapshot_errors\":" << st.snapshot_errors << ",\"acks\":" << st.acks_sent
              << ",\"inputs_resent\":" << st.inputs_resent << ",\"spawns\":" << st.spawns
              << ",\"despawns\":" << st.despawns << ",\"events\":" << events << ",\"reconnects\":" << st.reconnects
              << ",\"resumes\":" << st.resumes << ",\"close_code\":" << closed_code << "}" << std::endl;
    ws.stop_perpetual();
    return 0;
}
