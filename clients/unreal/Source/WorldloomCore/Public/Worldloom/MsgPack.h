// MessagePack for the subset the Worldloom protocol uses: a value tree, a reader and a writer.
//
// Why a value tree: every frame is small (< 60 kB) and decoded once; reading it into a tree first and
// then validating it field by field (ProtocolMessages.cpp, generated) keeps the generated code simple
// and gives the `$.path` error messages the protocol asks for. The reader rejects everything the spec
// calls MALFORMED (truncated data, trailing bytes, invalid UTF-8, nesting deeper than kMaxDepth, ext
// types, the reserved byte 0xc1) and never allocates more elements than there are bytes left.
// The writer always picks the smallest integer format and writes floats as float 64, as the server does.
//
// Portable C++17, no engine and no exceptions (Unreal builds with exceptions off).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace worldloom {

using Bytes = std::vector<uint8_t>;

namespace msgpack {

/** One MessagePack value. Integers that fit int64 are `Int`; larger unsigned ones are `UInt`. */
struct Value {
    enum class Type : uint8_t { Nil, Bool, Int, UInt, Float, Str, Bin, Array, Map };

    Type type = Type::Nil;
    bool boolean = false;
    int64_t i = 0;       // Type::Int
    uint64_t u = 0;      // Type::UInt (always > INT64_MAX)
    double f = 0.0;      // Type::Float (float 32 values are widened)
    std::string s;       // Type::Str (UTF-8) and Type::Bin (raw bytes)
    std::vector<Value> items;  // Array: the elements; Map: key0, value0, key1, value1, ...

    static Value Nil() { return Value(); }
    static Value Boolean(bool b);
    static Value Integer(int64_t v);
    static Value Unsigned(uint64_t v);  // stored as Int when it fits
    static Value Float(double v);
    static Value String(std::string v);
    static Value Binary(std::string raw);
    static Value Array(std::vector<Value> elements);
    /** A map from alternating keys and values: {k0, v0, k1, v1, ...}. */
    static Value Map(std::vector<Value> keys_and_values);

    bool is_nil() const { return type == Type::Nil; }
    bool is_int() const { return type == Type::Int || type == Type::UInt; }
    size_t map_size() const { return type == Type::Map ? items.size() / 2 : 0; }
    const Value& map_key(size_t k) const { return items[2 * k]; }
    const Value& map_value(size_t k) const { return items[2 * k + 1]; }
    /** The value under string key `key` of a map, or nullptr. */
    const Value* find(std::string_view key) const;
    /** Integer as int64 (false for non-integers and values > INT64_MAX). */
    bool to_int64(int64_t& out) const;
    /** Any number (int or float) as double. */
    bool to_double(double& out) const;
    /** Name of the type as used in error messages: `int`, `str`, `array`, `object`, ... */
    const char* type_name() const;

    bool operator==(const Value& other) const;
    bool operator!=(const Value& other) const { return !(*this == other); }
};

using Dict = std::vector<std::pair<std::string, Value>>;

/** Appends MessagePack to a byte buffer. */
class Writer {
public:
    void write_nil();
    void write_bool(bool v);
    void write_int(int64_t v);
    void write_uint(uint64_t v);
    void write_double(double v);
    void write_str(std::string_view v);
    void write_bin(const uint8_t* data, size_t size);
    void write_bin(const Bytes& v) { write_bin(v.data(), v.size()); }
    void write_array_header(uint32_t count);
    void write_map_header(uint32_t count);
    void write_value(const Value& v);
    void write_dict(const Dict& d);

    const Bytes& bytes() const { return out_; }
    Bytes take() { return std::move(out_); }

private:
    void put(uint8_t b) { out_.push_back(b); }
    void put_be(uint64_t v, int nbytes);
    Bytes out_;
};

constexpr int kMaxDepth = 64;

/** Parse exactly one value filling `data[0, size)`. On failure returns false and a reason in `error`. */
bool parse(const uint8_t* data, size_t size, Value& out, std::string& error);

/** `v` as JSON text (bytes as base64 strings, non-string map keys stringified, NaN/inf as null), for
 *  engine code that hands RPC results and event data to Blueprints. */
std::string to_json(const Value& v);

/** True when `s` is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
bool is_valid_utf8(std::string_view s);
/** Number of Unicode code points of valid UTF-8 `s`. */
size_t count_code_points(std::string_view s);

}  // namespace msgpack
}  // namespace worldloom
