// Field readers used by the generated message decoders (ProtocolMessages.cpp): one function per wire
// type, each checking type and range and reporting `Expected ... - at `$.path`` like the reference
// decoder. Paths are a chain of stack frames rendered only when an error is reported, so a valid frame
// costs no string building.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <regex>

#include "Worldloom/MsgPack.h"

namespace worldloom {
namespace wire {

/** A position in the message: `$`, then `.key` or `[index]` per level (rendered only on error). */
struct Path {
    const Path* parent = nullptr;
    const char* key = nullptr;  // set for a map field, else `index` is used
    size_t index = 0;

    std::string render() const;
    Path field(const char* name) const { return Path{this, name, 0}; }
    Path item(size_t i) const { return Path{this, nullptr, i}; }
};

/** The root path `$`. */
inline Path root() { return Path{}; }

bool read_int(const msgpack::Value& v, int64_t ge, int64_t le, int64_t& out, const Path& path, std::string& err);
bool read_float(const msgpack::Value& v, double& out, const Path& path, std::string& err);
bool read_float_in(const msgpack::Value& v, double ge, double le, double& out, const Path& path, std::string& err);
bool read_bool(const msgpack::Value& v, bool& out, const Path& path, std::string& err);
/** A str of `min_len`..`max_len` code points (max_len 0: unbounded) matching `pattern` (may be null;
 *  `pattern_text` is its source, for the message). */
bool read_str(const msgpack::Value& v, size_t min_len, size_t max_len, const std::regex* pattern,
              const char* pattern_text, std::string& out, const Path& path, std::string& err);
bool read_bytes(const msgpack::Value& v, Bytes& out, const Path& path, std::string& err);
bool read_literal(const msgpack::Value& v, const char* const* allowed, size_t count, std::string& out,
                  const Path& path, std::string& err);
bool read_dict(const msgpack::Value& v, msgpack::Dict& out, const Path& path, std::string& err);
/** An array of at most `max_len` items (0: unbounded). */
bool expect_array(const msgpack::Value& v, size_t max_len, const Path& path, std::string& err);
/** An array of exactly `len` items (tuples). */
bool expect_tuple(const msgpack::Value& v, size_t len, const Path& path, std::string& err);
/** A map whose keys are all strings (message objects). */
bool expect_object(const msgpack::Value& v, const Path& path, std::string& err);
/** A positional (array-like) struct: an array of at least `required` elements. */
bool expect_positional(const msgpack::Value& v, size_t required, const Path& path, std::string& err);
bool missing_field(const char* name, const Path& path, std::string& err);

}  // namespace wire
}  // namespace worldloom
